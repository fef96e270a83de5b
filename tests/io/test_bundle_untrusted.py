"""A bundle is untrusted input: edited files with resealed checksums are refused in one line.

Each test writes a real bundle of a model fitted on synthetic data, edits one thing the way
a careful forger would (the tensor record, the vocabulary sizes, every file's size and
sha256 and the content checksum are recomputed with the bundle module's own helpers), and
loads it: a :class:`BundleError` whose one line names the file and the field, what came
and what was expected. The same bundles go through ``embedlab info`` and ``embedlab
recommend`` in real subprocesses: exit 2, exactly one line on stderr, no traceback, no
warning.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import embedlab as el
import embedlab.io._bundle as _bundle
from embedlab.data import Vocabulary
from embedlab.exceptions import BundleError, DataError, DataWarning
from embedlab.io import bundle_info, check_model_bundle, load_bundle, save_bundle
from embedlab.io._schema import MODEL_SETTINGS

N_USERS, N_ITEMS, N_RATINGS = 60, 40, 900
WEIGHTS = "weights.safetensors"
_DTYPES = {
    **{f"F{b}": f"float{b}" for b in (16, 32, 64)},
    **{f"I{b}": f"int{b}" for b in (8, 16, 32, 64)},
    **{f"U{b}": f"uint{b}" for b in (8, 16, 32, 64)},
    "BOOL": "bool",
}


# ---------------------------------------------------------------------- real bundles
@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ds, _ = el.synthetic_ratings(N_USERS, N_ITEMS, N_RATINGS, random_state=0)
    assert (ds.n_users, ds.n_items) == (N_USERS, N_ITEMS)
    root = tmp_path_factory.mktemp("pristine")
    with warnings.catch_warnings():  # what fitting says about such small data is not the point
        warnings.simplefilter("ignore", DataWarning)
        mf = el.MatrixFactorization(embedding_dim=4, epochs=2, random_state=0)
        mf.fit(ds, progress=False)
        nn = el.NeuralEmbeddingModel(
            embedding_dim=4, hidden=(4,), epochs=1, pretrain=None, random_state=0
        ).fit(ds, progress=False)
    return {"mf": mf.save(root / "mf"), "neural": nn.save(root / "neural")}


def _copy(pristine: dict[str, Path], kind: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine[kind], tmp_path / kind))


def _header(path: Path) -> dict[str, Any]:
    raw = (path / WEIGHTS).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + n])


def _reseal(path: Path, *, tensors: bool = True, vocab: bool = True) -> None:
    """Make model.json agree with the edited files again, as a careful forger would."""
    doc = json.loads((path / "model.json").read_text())
    if tensors:
        doc["tensors"] = {
            name: {"shape": entry["shape"], "dtype": _DTYPES[entry["dtype"]]}
            for name, entry in _header(path).items()
            if name != "__metadata__"
        }
    if vocab:
        for side in ("users", "items"):
            doc["vocab"][side]["size"] = len(Vocabulary.load(path / "vocab" / f"{side}.parquet"))
    for rel in doc["files"]:
        full = path / rel
        doc["files"][rel] = {"sha256": _bundle._sha256(full), "size": full.stat().st_size}
    doc["checksum"] = _bundle._content_checksum(doc)
    (path / "model.json").write_text(json.dumps(doc, indent=2))


def _edit_json(path: Path, edit: Callable[[dict[str, Any]], None], **reseal: bool) -> None:
    doc = json.loads((path / "model.json").read_text())
    edit(doc)
    (path / "model.json").write_text(json.dumps(doc, indent=2))
    _reseal(path, **reseal)


def _edit_config(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    _edit_json(path, lambda doc: edit(doc["config"]))


def _edit_tensors(path: Path, edit: Callable[[dict[str, np.ndarray]], None]) -> None:
    tensors = {k: np.array(v, copy=True) for k, v in load_file(str(path / WEIGHTS)).items()}
    edit(tensors)
    save_file(tensors, str(path / WEIGHTS))
    _reseal(path)


def _forge_shape(path: Path, name: str, shape: list[int]) -> None:
    """Declare another shape for ``name`` in the safetensors header (the data stays)."""
    raw = (path / WEIGHTS).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    header[name]["shape"] = shape
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    (path / WEIGHTS).write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + n :])
    _reseal(path)


def _grow_vocab(path: Path, side: str) -> None:
    rel = path / "vocab" / f"{side}.parquet"
    vocab = Vocabulary.load(rel)
    ids = [*vocab.ids().tolist(), int(max(vocab.ids())) + 1000]
    Vocabulary(ids, name=vocab.name).save(rel)
    _reseal(path)


def _set(key: str, value: Any, where: str | None = None) -> Callable[[dict[str, Any]], None]:
    def edit(config: dict[str, Any]) -> None:
        (config if where is None else config[where])[key] = value

    return edit


def _drop(key: str, where: str | None = None) -> Callable[[dict[str, Any]], None]:
    def edit(config: dict[str, Any]) -> None:
        del (config if where is None else config[where])[key]

    return edit


def _tensor(name: str, change: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict], None]:
    def edit(tensors: dict[str, np.ndarray]) -> None:
        tensors[name] = np.array(change(tensors[name]), order="C")  # 0-d stays 0-d

    return edit


def _put(index: Any, value: Any) -> Callable[[np.ndarray], np.ndarray]:
    def change(arr: np.ndarray) -> np.ndarray:
        arr[index] = value
        return arr

    return change


# ---------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # "mf" or "neural"
    edit: Callable[[Path], None]
    message: str  # a regular expression the whole message must match from its start
    #: Whether ``bundle_info`` (the io layer, no torch) sees it too; the module's exact
    #: layout is checked by the estimator, on torch's ``meta`` device.
    info: bool = True


CASES = [
    # tensor rows that do not match the vocabulary
    Case(
        "rows-short-of-the-vocabulary",
        "mf",
        lambda p: _edit_tensors(p, _tensor("item_embedding.weight", lambda a: a[:-1])),
        r"weights\.safetensors: tensor 'item_embedding\.weight' is float32\[39, 4\]; expected "
        r"float32\[40, 4\] \(40 items in vocab/items\.parquet, embedding_dim 4 in config\.params\)",
    ),
    Case(
        "rows-beyond-the-vocabulary",
        "neural",
        lambda p: _edit_tensors(
            p, _tensor("user_embedding.weight", lambda a: np.concatenate([a, a[:1]]))
        ),
        r"weights\.safetensors: tensor 'user_embedding\.weight' is float32\[61, 4\]; "
        r"expected float32\[60, 4\] \(60 users in vocab/users\.parquet",
    ),
    Case(
        "vocabulary-grew",
        "mf",
        lambda p: _grow_vocab(p, "users"),
        r"model\.json: config\.data: n_users=60 but vocab/users\.parquet holds 61 IDs",
    ),
    # a negative config value
    Case(
        "negative-parameter",
        "mf",
        lambda p: _edit_config(p, _set("embedding_dim", -4, "params")),
        r"model\.json: config\.params: embedding_dim=-4: expected an integer ",
    ),
    Case(
        "negative-recorded-setting",
        "neural",
        lambda p: _edit_config(p, _set("epochs", -1, "settings")),
        r"model\.json: config\.settings: epochs=-1: expected an integer ",
    ),
    # a missing config value
    Case(
        "missing-global-mean",
        "mf",
        lambda p: _edit_config(p, _drop("global_mean")),
        r"model\.json: config: 'global_mean' is missing; expected a finite number",
    ),
    Case(
        "missing-recorded-setting",
        "mf",
        lambda p: _edit_config(p, _drop("l2_user", "settings")),
        r"model\.json: config\.settings: 'l2_user' is missing; expected the value the sgd "
        r"engine used",
    ),
    # an unknown config key
    Case(
        "unknown-parameter",
        "mf",
        lambda p: _edit_config(p, _set("colour", "red", "params")),
        r"model\.json: config\.params: colour is not a parameter; parameters: embedding_dim, ",
    ),
    Case(
        "unknown-config-key",
        "neural",
        lambda p: _edit_config(p, _set("tuned_by", "me")),
        r"model\.json: config: unknown key 'tuned_by'; expected keys of a NeuralEmbeddingModel "
        r"bundle: params, ",
    ),
    Case(
        "unknown-pretrain-setting",
        "neural",
        lambda p: _edit_config(p, _set("pretrain_settings", {"momentum": 0.9})),
        r"model\.json: config\.pretrain_settings: momentum is not a parameter",
    ),
    # a config value of the wrong type
    Case(
        "wrong-typed-parameter",
        "neural",
        lambda p: _edit_config(p, _set("hidden", "4", "params")),
        r"model\.json: config\.params: hidden='4': expected a sequence of integers ",
    ),
    Case(
        "wrong-typed-global-mean",
        "mf",
        lambda p: _edit_config(p, _set("global_mean", "3.5")),
        r"model\.json: config: global_mean='3\.5': expected a finite number",
    ),
    # seen-item indices out of range or negative
    Case(
        "seen-index-out-of-range",
        "mf",
        lambda p: _edit_tensors(p, _tensor("seen_indices", _put(5, N_ITEMS))),
        r"weights\.safetensors: seen_indices\[5\] is 40; expected an item index from 0 to 39 "
        r"\(40 items in vocab/items\.parquet\)",
    ),
    Case(
        "seen-index-negative",
        "neural",
        lambda p: _edit_tensors(p, _tensor("seen_indices", _put(0, -1))),
        r"weights\.safetensors: seen_indices\[0\] is -1; expected an item index from 0 to 39",
    ),
    Case(
        "seen-row-pointers-fall",
        "mf",
        lambda p: _edit_tensors(p, _tensor("seen_indptr", _put(3, 10**6))),
        r"weights\.safetensors: seen_indptr falls from 1,000,000 to [\d,]+ at position 4; "
        r"expected row pointers that never decrease",
    ),
    # non-finite weights
    Case(
        "nan-weights",
        "mf",
        lambda p: _edit_tensors(p, _tensor("item_embedding.weight", _put((3, 1), np.nan))),
        r"weights\.safetensors: tensor 'item_embedding\.weight' holds 1 non-finite value "
        r"\(first: nan at \[3, 1\]\); expected finite numbers",
    ),
    Case(
        "infinite-global-bias",
        "neural",
        lambda p: _edit_tensors(p, _tensor("global_bias", lambda a: np.array(np.inf, a.dtype))),
        r"weights\.safetensors: tensor 'global_bias' holds 1 non-finite value \(first: inf at "
        r"\[\]\)",
    ),
    # huge declared sizes: refused before anything is allocated
    Case(
        "huge-seen-count",
        "mf",
        lambda p: _edit_tensors(p, _tensor("seen_indptr", _put(-1, 10**12))),
        r"weights\.safetensors: seen_indptr\[60\] is 1,000,000,000,000; expected [\d,]+ "
        r"\(the length of seen_indices\)",
    ),
    Case(
        "huge-vocabulary-size-recorded",
        "mf",
        lambda p: _edit_json(
            p, lambda d: d["vocab"]["items"].update(size=10**12), tensors=False, vocab=False
        ),
        r"vocab/items\.parquet: 40 IDs but model\.json records vocab size 1000000000000",
    ),
    Case(
        "huge-tensor-declared-in-the-header",
        "mf",
        lambda p: _forge_shape(p, "item_embedding.weight", [10**12, 4]),
        r"weights\.safetensors: tensor 'item_embedding\.weight' declares "
        r"float32\[1000000000000, 4\] \(16,000,000,000,000 bytes\) at bytes [\d,]+ to [\d,]+, "
        r"but the file holds [\d,]+ bytes of tensor data",
    ),
    Case(
        "huge-hidden-layer-in-the-config",
        "neural",
        # two layers of 2^20: mlp.1.weight alone would be 2^40 floats (4 TiB)
        lambda p: _edit_config(
            p,
            lambda c: (
                c["params"].update(hidden=[2**20, 2**20]),
                c["settings"].update(hidden=[2**20, 2**20]),
            ),
        ),
        r"weights\.safetensors: 1 hidden layer \(mlp\.<k>\.weight\); expected 2 "
        r"\(hidden=\[1048576, 1048576\] in config\.params\)",
    ),
    Case(
        "renamed-hidden-layer",
        "neural",
        lambda p: _edit_tensors(
            p,
            lambda t: t.update(
                {"mlp.3.weight": t.pop("mlp.0.weight"), "mlp.3.bias": t.pop("mlp.0.bias")}
            ),
        ),
        r"weights\.safetensors: the tensors do not fit a NeuralEmbeddingModel built from "
        r"model\.json's config \(missing: \['mlp\.0\.bias', 'mlp\.0\.weight'\], "
        r"unexpected: \['mlp\.3\.bias', 'mlp\.3\.weight'\]\)",
        info=False,
    ),
    Case(
        "huge-embedding-dim-in-the-config",
        "mf",
        lambda p: _edit_config(
            p,
            lambda c: (
                c["params"].update(embedding_dim=2**20),
                c["settings"].update(embedding_dim=2**20),
            ),
        ),
        r"weights\.safetensors: tensor 'user_embedding\.weight' is float32\[60, 4\]; expected "
        r"float32\[60, 1048576\]",
    ),
]


#: One case of each kind for the command line (a subprocess that imports torch costs seconds).
CLI_CASES = [
    c
    for c in CASES
    if c.id
    in {
        "rows-short-of-the-vocabulary",
        "negative-parameter",
        "missing-global-mean",
        "unknown-parameter",
        "wrong-typed-parameter",
        "seen-index-out-of-range",
        "seen-index-negative",
        "nan-weights",
        "huge-hidden-layer-in-the-config",
    }
]


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message, message
    assert message.endswith(("re-save the model", "retrain or re-save it")), message
    return message


def _broken(case: Case, pristine: dict[str, Path], tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = _copy(pristine, case.kind, tmp_path)
    case.edit(path)
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_resealed_bundle_is_refused_in_one_line(
    case: Case, pristine: dict[str, Path], tmp_path: Path
) -> None:
    path = _broken(case, pristine, tmp_path)
    with pytest.raises(BundleError) as info:
        el.load(path)
    assert isinstance(info.value, DataError)
    message = _one_line(info.value)
    assert re.match(case.message, message), message
    # the info command's reader refuses it with the same line
    if case.info:
        with pytest.raises(BundleError) as again:
            bundle_info(path)
        assert str(again.value) == message


def _start_cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONWARNINGS": "default"}
    env.pop("EMBEDLAB_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "embedlab", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


#: Command-line runs at a time (each one imports torch: seconds of CPU).
_PARALLEL = 6


@pytest.fixture(scope="module")
def cli_runs(
    pristine: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], tuple[int, str, str]]:
    """(case id, command) -> (exit code, stdout, stderr) of ``embedlab info`` and ``embedlab
    recommend`` on each broken bundle of :data:`CLI_CASES`, run a few at a time."""
    root = tmp_path_factory.mktemp("cli")
    commands = []
    for case in CLI_CASES:
        path = _broken(case, pristine, root / case.id)
        commands.append(((case.id, "info"), ("info", str(path))))
        commands.append(((case.id, "recommend"), ("recommend", str(path), "--user", "1")))
    results: dict[tuple[str, str], tuple[int, str, str]] = {}
    running: list[tuple[tuple[str, str], subprocess.Popen[str]]] = []
    while commands or running:
        while commands and len(running) < _PARALLEL:
            key, args = commands.pop(0)
            running.append((key, _start_cli(*args)))
        key, proc = running.pop(0)
        out, err = proc.communicate(timeout=300)
        results[key] = (proc.returncode, out, err)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("command", ["info", "recommend"])
@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_the_cli_refuses_a_resealed_bundle_with_exit_2(
    case: Case, command: str, cli_runs: dict[tuple[str, str], tuple[int, str, str]]
) -> None:
    code, out, err = cli_runs[case.id, command]
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err and "Warning" not in err, err
    assert re.match(case.message, err.removeprefix("error: ")), err


# ---------------------------------------------------------------------- what still loads
@pytest.mark.parametrize("kind", ["mf", "neural"])
def test_the_untouched_bundles_load_and_pass_every_check(
    pristine: dict[str, Path], kind: str
) -> None:
    bundle = load_bundle(pristine[kind])
    check_model_bundle(bundle)
    assert bundle_info(pristine[kind])["model_class"] == bundle.model_class
    model = el.load(pristine[kind])
    assert len(model.recommend(1, 3)) == 3


def test_a_resealed_but_consistent_bundle_still_loads(
    pristine: dict[str, Path], tmp_path: Path
) -> None:
    path = _copy(pristine, "mf", tmp_path)
    _edit_tensors(path, _tensor("item_bias.weight", lambda a: a + 0.5))  # a legal edit
    assert el.load(path).item_biases()["bias"].notna().all()


@pytest.mark.parametrize("kind", ["mf", "neural"])
def test_format_1_bundles_pass_the_checks(
    pristine: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    path = _copy(pristine, kind, tmp_path)

    def as_format_1(doc: dict[str, Any]) -> None:
        doc["format"] = "embedlab.bundle/1"
        config = doc["config"]
        for key in ("settings", "engine", "seed", "versions", "data", "training_seconds"):
            config.pop(key)
        config.pop("pretrain_settings", None)
        if kind == "neural":  # 0.1's names
            dim = config["params"].pop("embedding_dim")
            config["params"] = {"user_dim": dim, "item_dim": dim, **config["params"]}
            config["params"].pop("n_threads")
        else:
            config["params"].pop("final_learning_rate_fraction")

    _edit_json(path, as_format_1)
    assert bundle_info(path)["format"] == "embedlab.bundle/1"
    assert el.load(path).get_params()["embedding_dim"] == 4


def test_the_schema_knows_each_estimator_by_its_settings() -> None:
    from embedlab.models import MODEL_CLASSES

    assert {name: cls.settings_class for name, cls in MODEL_CLASSES.items()} == MODEL_SETTINGS


def test_an_encoder_bundle_with_bad_parameters_is_refused(tmp_path: Path) -> None:
    import pandas as pd

    from embedlab import EmbeddingEncoder

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"city": rng.choice(["a", "b", "c"], 80), "x": rng.normal(size=80)})
    y = rng.normal(size=80)
    path = EmbeddingEncoder(epochs=1, random_state=0).fit(X, y).save(tmp_path / "enc")
    assert bundle_info(path)["model_class"] == "EmbeddingEncoder"
    _edit_config(path, _set("hidden", [-3], "params"))
    with pytest.raises(BundleError) as info:
        bundle_info(path)
    assert str(info.value).startswith(
        "model.json: config.params: hidden=(-3,): expected a sequence of integers >= 1"
    ), info.value


def test_a_model_class_without_a_schema_gets_the_bundle_checks_only(tmp_path: Path) -> None:
    users, items = Vocabulary([1, 2], name="user"), Vocabulary([7], name="item")
    tensors = {"w": np.ones((2, 3), np.float32)}
    path = save_bundle(
        tmp_path / "toy",
        model_class="ToyModel",
        config={"anything": 1},
        tensors=tensors,
        users=users,
        items=items,
    )
    check_model_bundle(load_bundle(path))
    save_file({"w": np.array([[1, math.nan, 3], [4, 5, 6]], np.float32)}, str(path / WEIGHTS))
    _reseal(path)
    with pytest.raises(BundleError, match=r"^weights\.safetensors: tensor 'w' holds 1 non-finite"):
        load_bundle(path)
