"""The model bundle: round trip, atomic writes, and a clear error for every kind of damage."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

import embedlab
import embedlab.io._bundle as _bundle
from embedlab.data import Vocabulary
from embedlab.exceptions import BundleError, DataError
from embedlab.io import BUNDLE_FORMAT, Bundle, bundle_info, load_bundle, save_bundle

SRC_IO = Path(_bundle.__file__).resolve().parent


def _tensors(n_users: int = 4, n_items: int = 3, dim: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "user_embedding.weight": rng.normal(size=(n_users, dim)).astype(np.float32),
        "item_embedding.weight": rng.normal(size=(n_items, dim)).astype(np.float32),
        "user_bias.weight": rng.normal(size=(n_users, 1)).astype(np.float32),
        "item_bias.weight": rng.normal(size=(n_items, 1)).astype(np.float32),
        "global_bias": np.array(3.52, dtype=np.float32),
        "step": np.array([7, -2], dtype=np.int64),
    }


def _item_metadata(items: Vocabulary) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": items.ids().tolist(),
            "title": ["Toy Story (1995)", None, "Heat (1995)"],
            "genres": [["Animation", "Children's", "Comedy"], [], ["Action"]],
            "year": pd.array([1995, None, 1995], dtype="Int64"),
        }
    )


def _user_metadata(users: Vocabulary) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": users.ids(),
            "age": pd.array([24, 53, None, 33], dtype="Int64"),
            "gender": ["M", "F", None, "M"],
        }
    )


@pytest.fixture
def parts() -> dict[str, Any]:
    # A model class embedlab has no schema for: the bundle's own checks only (the
    # estimators' configs and tensors are checked in test_bundle_untrusted.py).
    users = Vocabulary([1, 5, 9, 200], name="user")
    items = Vocabulary(["tt001", "tt002", "tt010"], name="item")
    return {
        "model_class": "ToyModel",
        "config": {"embedding_dim": 5, "squash": (1.0, 5.0), "lr": np.float32(0.5), "name": "mf"},
        "tensors": _tensors(),
        "users": users,
        "items": items,
        "metrics": {"rmse": 0.91, "epochs": 3, "best": {"epoch": 2, "val_rmse": 0.93}},
        "history": [{"epoch": 1, "loss": 1.5}, {"epoch": 2, "loss": 1.1}],
        "item_metadata": _item_metadata(items),
        "user_metadata": _user_metadata(users),
        "data_fingerprint": "sha256:abc123",
    }


@pytest.fixture
def saved(tmp_path: Path, parts: dict[str, Any]) -> Path:
    return save_bundle(tmp_path / "model", **parts)


def _rewrite_model_json(path: Path, edit: Any, *, fix_checksum: bool = True) -> None:
    """Apply ``edit`` to model.json; recompute its content checksum (as a valid writer would)."""
    doc = json.loads((path / "model.json").read_text())
    edit(doc)
    if fix_checksum:
        doc["checksum"] = _bundle._content_checksum(doc)
    (path / "model.json").write_text(json.dumps(doc, indent=2))


def _error(path: Path) -> str:
    with pytest.raises(BundleError) as info:
        load_bundle(path)
    assert isinstance(info.value, DataError)
    message = str(info.value)
    assert "\n" not in message
    return message


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


# ---------------------------------------------------------------------- round trip
def test_round_trip_restores_everything(saved: Path, parts: dict[str, Any]) -> None:
    bundle = load_bundle(saved)
    assert isinstance(bundle, Bundle)
    assert bundle.path == saved
    assert bundle.model_class == "ToyModel"
    assert bundle.format == BUNDLE_FORMAT
    assert bundle.library_version == embedlab.__version__
    created = pd.Timestamp(bundle.created)
    assert (
        created.tzinfo is not None
        and abs(pd.Timestamp.now(tz="UTC") - created).total_seconds() < 120
    )

    assert set(bundle.tensors) == set(parts["tensors"])
    for name, arr in parts["tensors"].items():
        got = bundle.tensors[name]
        assert got.dtype == arr.dtype and got.shape == arr.shape, name
        assert got.tobytes() == arr.tobytes(), name
    assert bundle.tensors["global_bias"].shape == ()

    # JSON has no tuples and no NumPy scalars: those come back as lists and floats.
    assert bundle.config == {"embedding_dim": 5, "squash": [1.0, 5.0], "lr": 0.5, "name": "mf"}
    assert bundle.metrics == parts["metrics"]
    assert bundle.history == parts["history"]
    assert bundle.data_fingerprint == "sha256:abc123"

    assert bundle.users == parts["users"] and bundle.users.kind == "int"
    assert bundle.items == parts["items"] and bundle.items.kind == "str"
    assert bundle.users.index(200) == 3 and bundle.items.id(2) == "tt010"

    pd.testing.assert_frame_equal(bundle.item_metadata, parts["item_metadata"])
    pd.testing.assert_frame_equal(bundle.user_metadata, parts["user_metadata"])
    assert bundle.item_metadata["genres"].tolist() == [
        ["Animation", "Children's", "Comedy"],
        [],
        ["Action"],
    ]
    assert bundle.item_metadata["year"].dtype == "Int64"
    assert pd.isna(bundle.item_metadata.loc[1, "title"]) and pd.isna(
        bundle.item_metadata.loc[1, "year"]
    )


def test_loaded_tensors_are_read_only(saved: Path) -> None:
    bundle = load_bundle(saved)
    with pytest.raises(ValueError, match="read-only"):
        bundle.tensors["user_embedding.weight"][0, 0] = 1.0


def test_torch_tensors_in_and_state_dict_out(tmp_path: Path, parts: dict[str, Any]) -> None:
    module = torch.nn.Embedding(4, 5)
    state = {k: torch.from_numpy(v.copy()) for k, v in parts["tensors"].items()}
    state["user_embedding.weight"] = module.weight  # requires grad: saved through .detach()
    path = save_bundle(tmp_path / "m", **{**parts, "tensors": state})

    out = load_bundle(path).torch_state_dict()
    assert set(out) == set(state)
    for name, tensor in state.items():
        assert out[name].dtype == tensor.dtype and torch.equal(out[name], tensor.detach()), name
    assert out["global_bias"].shape == torch.Size([])
    out["user_bias.weight"].add_(1.0)  # writable, independent of the bundle's arrays
    fresh = torch.nn.Embedding(4, 5)
    fresh.load_state_dict({"weight": out["user_embedding.weight"]})
    assert torch.equal(fresh.weight, module.weight)


def test_optional_parts_may_be_omitted(tmp_path: Path, parts: dict[str, Any]) -> None:
    path = save_bundle(
        tmp_path / "m",
        model_class="X",
        config={},
        tensors={"w": np.zeros((2, 2), dtype=np.float64)},
        users=parts["users"],
        items=parts["items"],
    )
    bundle = load_bundle(path)
    assert bundle.metrics == {} and bundle.history is None and bundle.data_fingerprint is None
    assert bundle.item_metadata is None and bundle.user_metadata is None
    assert bundle.tensors["w"].dtype == np.float64
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "vocab", "weights.safetensors"]


def test_model_json_records_files_tensors_and_vocabularies(saved: Path) -> None:
    doc = json.loads((saved / "model.json").read_text())
    assert doc["format"] == "embedlab.bundle/2"
    assert set(doc["files"]) == {
        "weights.safetensors",
        "vocab/users.parquet",
        "vocab/items.parquet",
        "items.parquet",
        "users.parquet",
    }
    for rel, entry in doc["files"].items():
        assert entry["size"] == (saved / rel).stat().st_size
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
    assert doc["tensors"]["global_bias"] == {"shape": [], "dtype": "float32"}
    assert doc["tensors"]["user_embedding.weight"] == {"shape": [4, 5], "dtype": "float32"}
    assert doc["vocab"] == {
        "users": {"size": 4, "kind": "int"},
        "items": {"size": 3, "kind": "str"},
    }


def test_bundle_info_verifies_the_bundle_by_default(saved: Path) -> None:
    assert bundle_info(saved)["model_class"] == "ToyModel"
    (saved / "weights.safetensors").unlink()
    with pytest.raises(BundleError, match=r"^weights.safetensors: missing from the bundle"):
        bundle_info(saved)


def test_bundle_info_without_verify_reads_model_json_only(saved: Path) -> None:
    (saved / "weights.safetensors").unlink()
    info = bundle_info(saved, verify=False)
    assert info["model_class"] == "ToyModel"
    assert info["format"] == BUNDLE_FORMAT
    assert info["vocab"]["items"]["size"] == 3
    assert info["tensors"]["item_embedding.weight"]["shape"] == [3, 5]
    assert info["metrics"]["rmse"] == 0.91
    assert info["path"] == str(saved)
    json.dumps(info)  # printable as JSON by a CLI


def test_extra_files_in_the_directory_are_ignored(saved: Path) -> None:
    (saved / "NOTES.txt").write_text("trained on Tuesday")
    assert load_bundle(saved).model_class == "ToyModel"


def test_nan_and_unicode_survive_the_json(tmp_path: Path, parts: dict[str, Any]) -> None:
    path = save_bundle(
        tmp_path / "m",
        **{
            **parts,
            "metrics": {"val_rmse": float("nan"), "sum": 0.1 + 0.2},
            "config": {"note": "Amélie ✓"},
        },
    )
    bundle = load_bundle(path)
    assert np.isnan(bundle.metrics["val_rmse"]) and bundle.metrics["sum"] == 0.1 + 0.2
    assert bundle.config == {"note": "Amélie ✓"}


# ---------------------------------------------------------------------- bad arguments
def test_unjsonable_config_names_the_key(tmp_path: Path, parts: dict[str, Any]) -> None:
    with pytest.raises(BundleError, match=r"config\['opt'\]: a object cannot be stored"):
        save_bundle(tmp_path / "m", **{**parts, "config": {"opt": object()}})
    with pytest.raises(BundleError, match=r"metrics: key 3 is a int"):
        save_bundle(tmp_path / "m", **{**parts, "metrics": {3: 1.0}})
    assert not (tmp_path / "m").exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_tensors_and_metadata_are_refused(tmp_path: Path, parts: dict[str, Any]) -> None:
    with pytest.raises(
        BundleError, match=r"tensors\['w'\]: expected a NumPy array or torch tensor, got list"
    ):
        save_bundle(tmp_path / "m", **{**parts, "tensors": {"w": [1, 2]}})
    with pytest.raises(BundleError, match=r"tensors\['w'\]: dtype object"):
        save_bundle(tmp_path / "m", **{**parts, "tensors": {"w": np.array(["a"], dtype=object)}})
    short = parts["item_metadata"].iloc[:2]
    with pytest.raises(BundleError, match="item_metadata: 2 rows but the vocabulary has 3 IDs"):
        save_bundle(tmp_path / "m", **{**parts, "item_metadata": short})
    assert list(tmp_path.iterdir()) == []


def test_non_contiguous_tensors_are_stored(tmp_path: Path, parts: dict[str, Any]) -> None:
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = save_bundle(tmp_path / "m", **{**parts, "tensors": {"t": base.T}})
    assert np.array_equal(load_bundle(path).tensors["t"], base.T)


# ---------------------------------------------------------------------- atomic writes
def test_overwrite_replaces_the_old_bundle_and_leaves_no_temporaries(
    saved: Path, parts: dict[str, Any]
) -> None:
    new_tensors = {k: v + 1 for k, v in parts["tensors"].items()}
    save_bundle(saved, **{**parts, "tensors": new_tensors, "item_metadata": None})
    bundle = load_bundle(saved)
    assert np.array_equal(bundle.tensors["global_bias"], new_tensors["global_bias"])
    assert bundle.item_metadata is None and not (saved / "items.parquet").exists()
    assert _siblings(saved) == ["model"]


def test_overwrite_false_refuses_an_existing_bundle(saved: Path, parts: dict[str, Any]) -> None:
    before = (saved / "model.json").read_bytes()
    with pytest.raises(BundleError, match="already exists; pass overwrite=True"):
        save_bundle(saved, **{**parts, "metrics": {"rmse": 0.1}}, overwrite=False)
    assert (saved / "model.json").read_bytes() == before
    assert _siblings(saved) == ["model"]


def test_overwrite_false_is_fine_for_a_new_path(tmp_path: Path, parts: dict[str, Any]) -> None:
    assert load_bundle(save_bundle(tmp_path / "new", **parts, overwrite=False)).model_class


def test_an_empty_directory_is_replaced(tmp_path: Path, parts: dict[str, Any]) -> None:
    (tmp_path / "m").mkdir()
    assert load_bundle(save_bundle(tmp_path / "m", **parts)).users == parts["users"]
    assert _siblings(tmp_path / "m") == ["m"]


def test_refuses_to_replace_something_that_is_not_a_bundle(
    tmp_path: Path, parts: dict[str, Any]
) -> None:
    (tmp_path / "file").write_text("precious")
    with pytest.raises(BundleError, match="exists and is not a directory"):
        save_bundle(tmp_path / "file", **parts)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "thesis.tex").write_text("precious")
    with pytest.raises(BundleError, match=r"not a model bundle .* refusing to replace it"):
        save_bundle(tmp_path / "dir", **parts)
    assert (tmp_path / "file").read_text() == "precious"
    assert (tmp_path / "dir" / "thesis.tex").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "file"]


def test_overwriting_through_a_symlink(tmp_path: Path, parts: dict[str, Any]) -> None:
    real = save_bundle(tmp_path / "real", **parts)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    save_bundle(link, **{**parts, "metrics": {"rmse": 0.1}})
    assert load_bundle(link).metrics == {"rmse": 0.1}
    assert load_bundle(real).metrics == parts["metrics"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


@pytest.mark.parametrize("exc_type", [OSError, KeyboardInterrupt])
def test_a_failure_midway_keeps_the_old_bundle(
    saved: Path,
    parts: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    exc_type: type[BaseException],
) -> None:
    before = {p.relative_to(saved): p.read_bytes() for p in saved.rglob("*") if p.is_file()}

    def fail(*args: Any, **kwargs: Any) -> None:
        raise exc_type("disk full")

    # The weights and vocabularies are written by then; the metadata table fails.
    monkeypatch.setattr(_bundle, "_write_metadata", fail)
    with pytest.raises(exc_type, match="disk full"):
        save_bundle(saved, **{**parts, "metrics": {"rmse": 0.1}})
    after = {p.relative_to(saved): p.read_bytes() for p in saved.rglob("*") if p.is_file()}
    assert after == before
    assert _siblings(saved) == ["model"]
    assert load_bundle(saved).metrics == parts["metrics"]


def test_a_failed_first_save_leaves_nothing(
    tmp_path: Path, parts: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_bundle, "save_file", fail)
    with pytest.raises(OSError, match="disk full"):
        save_bundle(tmp_path / "m", **parts)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_swap_puts_the_old_bundle_back(
    saved: Path, parts: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_rename = os.rename
    calls: list[tuple[str, str]] = []

    def rename(src: Any, dst: Any) -> None:
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:  # 1: old bundle aside; 2: new one into place -> fails
            raise OSError("rename failed")
        real_rename(src, dst)

    monkeypatch.setattr(_bundle.os, "rename", rename)
    with pytest.raises(OSError, match="rename failed"):
        save_bundle(saved, **{**parts, "metrics": {"rmse": 0.1}})
    monkeypatch.undo()
    assert len(calls) == 3 and calls[2][1] == "model"  # 3: put back
    assert load_bundle(saved).metrics == parts["metrics"]
    assert _siblings(saved) == ["model"]


def test_an_interrupted_swap_is_explained_on_load(saved: Path) -> None:
    aside = saved.with_name(".model.old-0123abcd")
    saved.rename(aside)
    message = _error(saved)
    assert "no such model bundle directory" in message
    assert ".model.old-0123abcd" in message and "rename it back" in message


# ---------------------------------------------------------------------- damage
def test_missing_weights(saved: Path) -> None:
    (saved / "weights.safetensors").unlink()
    message = _error(saved)
    assert message.startswith("weights.safetensors: missing from the bundle")
    assert "re-save the model" in message


def test_truncated_weights(saved: Path) -> None:
    path = saved / "weights.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    message = _error(saved)
    assert message.startswith("weights.safetensors: ")
    assert f"{len(data) // 2} bytes but model.json records {len(data)}" in message
    assert "truncated" in message


def test_an_edited_byte_in_the_weights(saved: Path) -> None:
    path = saved / "weights.safetensors"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))
    assert _error(saved) == (
        "weights.safetensors: sha256 mismatch (the file was modified after saving); re-save the model"
    )


def test_missing_vocabulary(saved: Path) -> None:
    (saved / "vocab" / "items.parquet").unlink()
    assert _error(saved).startswith(
        "vocab/items.parquet: missing from the bundle (listed in model.json)"
    )


def test_edited_metadata_table(saved: Path, parts: dict[str, Any]) -> None:
    meta = parts["item_metadata"].copy()
    meta.loc[0, "title"] = "Toy Story 2 (1999)"
    meta.to_parquet(saved / "items.parquet", index=False)
    assert _error(saved).startswith("items.parquet: ")


def test_edited_model_json_content(saved: Path) -> None:
    _rewrite_model_json(saved, lambda d: d["metrics"].update(rmse=0.5), fix_checksum=False)
    assert _error(saved) == (
        "model.json: content checksum mismatch (the file was edited after saving); re-save the model"
    )


def test_edited_checksum_of_a_file_in_model_json(saved: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["files"]["vocab/users.parquet"]["sha256"] = "0" * 64

    _rewrite_model_json(saved, edit, fix_checksum=False)
    assert "content checksum mismatch" in _error(saved)
    _rewrite_model_json(saved, edit)  # a consistent model.json: the file no longer matches it
    assert _error(saved).startswith("vocab/users.parquet: sha256 mismatch")


def test_bad_json(saved: Path) -> None:
    (saved / "model.json").write_text('{"format": "embedlab.bundle/1", "config": ')
    message = _error(saved)
    assert message.startswith("model.json: invalid JSON (")
    assert "line 1 column" in message


def test_json_that_is_not_an_object(saved: Path) -> None:
    (saved / "model.json").write_text("[1, 2]")
    assert _error(saved).startswith("model.json: expected a JSON object, found list")


def test_newer_format_version(saved: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["format"] = "embedlab.bundle/3"
        doc["library_version"] = "9.0.0"

    _rewrite_model_json(saved, edit)
    message = _error(saved)
    assert "'embedlab.bundle/3' (written by embedlab 9.0.0) is newer than" in message
    assert "upgrade embedlab" in message
    with pytest.raises(BundleError, match="newer than"):
        bundle_info(saved)


def test_older_format_version(saved: Path) -> None:
    _rewrite_model_json(saved, lambda d: d.update(format="embedlab.bundle/0"))
    assert "is older than the 'embedlab.bundle/2'" in _error(saved)


def test_not_a_bundle_format(saved: Path) -> None:
    _rewrite_model_json(saved, lambda d: d.update(format="keras.model/3"))
    assert _error(saved).startswith(
        "model.json: format 'keras.model/3' is not an embedlab model bundle"
    )
    _rewrite_model_json(saved, lambda d: d.pop("format"))
    assert _error(saved).startswith("model.json: format None is not an embedlab model bundle")


def test_missing_field(saved: Path) -> None:
    _rewrite_model_json(saved, lambda d: d.pop("tensors"))
    assert _error(saved) == "model.json: field 'tensors' is missing; re-save the model"


def test_a_tensor_missing_from_the_weights(saved: Path) -> None:
    _rewrite_model_json(
        saved, lambda d: d["tensors"].update({"mlp.0.weight": {"shape": [2], "dtype": "float32"}})
    )
    assert _error(saved) == (
        "weights.safetensors: tensors do not match model.json: missing keys ['mlp.0.weight']; re-save the model"
    )


def test_an_unexpected_tensor_in_the_weights(saved: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        del doc["tensors"]["step"]
        doc["tensors"]["output.bias"] = {"shape": [1], "dtype": "float32"}

    _rewrite_model_json(saved, edit)
    assert _error(saved) == (
        "weights.safetensors: tensors do not match model.json: missing keys ['output.bias']; "
        "unexpected keys ['step']; re-save the model"
    )


def test_a_tensor_of_another_shape(saved: Path) -> None:
    _rewrite_model_json(saved, lambda d: d["tensors"]["global_bias"].update(shape=[1]))
    assert _error(saved) == (
        "weights.safetensors: tensor 'global_bias' is float32[] but model.json records float32[1]; "
        "re-save the model"
    )


def test_a_required_file_not_listed(saved: Path) -> None:
    _rewrite_model_json(saved, lambda d: d["files"].pop("vocab/users.parquet"))
    assert _error(saved).startswith("model.json: does not list vocab/users.parquet")


def test_a_file_entry_outside_the_bundle(saved: Path) -> None:
    _rewrite_model_json(
        saved, lambda d: d["files"].update({"../secret": {"size": 1, "sha256": "0"}})
    )
    assert _error(saved).startswith("model.json: bad file entry '../secret'")


def test_weights_that_are_not_safetensors(saved: Path) -> None:
    junk = b"\x00" * 64
    (saved / "weights.safetensors").write_bytes(junk)

    def edit(doc: dict[str, Any]) -> None:
        doc["files"]["weights.safetensors"] = {
            "size": 64,
            "sha256": hashlib.sha256(junk).hexdigest(),
        }

    _rewrite_model_json(saved, edit)
    assert _error(saved).startswith("weights.safetensors: not a readable safetensors file (")


# ---------------------------------------------------------------------- not a bundle
def test_a_directory_without_model_json(tmp_path: Path) -> None:
    (tmp_path / "weights.safetensors").write_bytes(b"")
    message = _error(tmp_path)
    assert (
        message
        == f"{tmp_path}: not a model bundle (model.json is missing); pass the directory save_bundle wrote"
    )
    with pytest.raises(BundleError, match="not a model bundle"):
        bundle_info(tmp_path)


def test_a_missing_path_and_a_file(tmp_path: Path) -> None:
    assert _error(tmp_path / "nope") == f"{tmp_path / 'nope'}: no such model bundle directory"
    (tmp_path / "model.json").write_text("{}")
    assert _error(tmp_path / "model.json").endswith(
        "is a file; a model bundle is a directory (with model.json)"
    )


# ---------------------------------------------------------------------- no pickle
def test_no_pickle_anywhere_in_the_io_layer() -> None:
    sources = list(SRC_IO.rglob("*.py"))
    assert sources
    # Code, not prose: the docstrings may say "no pickle".
    forbidden = re.compile(
        r"^\s*(import|from)\s+(pickle|joblib|dill)\b|\bpickle\.\w|torch\.load|allow_pickle\s*=\s*True",
        re.MULTILINE,
    )
    for source in sources:
        assert not forbidden.search(source.read_text()), source


def test_the_io_layer_imports_torch_only_on_demand() -> None:
    # Module-level imports are unindented; torch may only be imported inside functions.
    for source in SRC_IO.rglob("*.py"):
        top_level = re.findall(r"^(?:import torch|from torch)\b.*$", source.read_text(), flags=re.M)
        assert top_level == [], source
