"""The lookup commands answer from the bundle with NumPy only (issue 20, CLI start-up).

``similar``, ``recommend`` (``--user`` and ``--rate``), ``export``, ``info`` and ``--help``
never import torch or numba (checked in a real process with ``python -X importtime``), and
their answers are the loaded estimator's: for matrix factorization (with and without
biases, biases only, squashed) and for the neural model (with and without the dot branch,
user biases, squash), ``similar`` and ``recommend`` print what ``embedlab.load(path)``
gives.
Nothing here times anything (``benchmarks/bench_cli_startup.py`` does).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import embedlab as el
from embedlab.cli import app
from embedlab.exceptions import BundleError
from embedlab.io import LookupModel, load_lookup

runner = CliRunner()

#: Modules a lookup must not import (nor any of their submodules).
HEAVY = ("torch", "numba")

MODELS = {
    "mf": lambda: el.MatrixFactorization(embedding_dim=8, epochs=4, random_state=0),
    "mf-no-biases": lambda: el.MatrixFactorization(
        embedding_dim=6, epochs=3, user_bias=False, item_bias=False, random_state=1
    ),
    "mf-squash": lambda: el.MatrixFactorization(
        embedding_dim=6, epochs=2, squash=(1, 5), random_state=2
    ),
    "neural": lambda: el.NeuralEmbeddingModel(
        embedding_dim=8, hidden=(8, 4), epochs=2, random_state=0
    ),
    "neural-plain": lambda: el.NeuralEmbeddingModel(
        embedding_dim=(6, 4),
        hidden=(5,),
        dot=False,
        pretrain=None,
        user_bias=True,
        dropout=0.0,
        squash=(1, 5),
        epochs=2,
        random_state=3,
    ),
}


@pytest.fixture(scope="module")
def data():
    ds, _ = el.synthetic_ratings(120, 50, 3000, random_state=5)
    return ds


@pytest.fixture(scope="module")
def bundles(data, tmp_path_factory) -> dict[str, tuple[Path, object]]:
    root = tmp_path_factory.mktemp("lookup")
    out = {}
    for name, make in MODELS.items():
        model = make().fit(data, progress=False)
        out[name] = (model.save(root / name), model)
    # the biases-only fallback (the MF held-out check chose the biases)
    model = MODELS["mf"]().fit(data, progress=False)
    model.module_.use_factors = False
    model.adaptive_ = {"skipped": False, "factors_used": False}
    out["mf-biases-only"] = (model.save(root / "mf-biases-only"), model)
    # implicit feedback (issue 21): the ratings >= 4 as positives
    model = el.ImplicitMatrixFactorization(embedding_dim=8, epochs=4, random_state=0)
    model.fit(data.to_implicit(4), progress=False)
    out["implicit"] = (model.save(root / "implicit"), model)
    return out


def _json(*args: object) -> dict:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", [*MODELS, "mf-biases-only", "implicit"])
def test_similar_is_the_estimators(bundles, name: str) -> None:
    path, _ = bundles[name]
    loaded = el.load(str(path)).item_embeddings()
    for query in (3, 17):
        doc = _json("similar", path, query, "--topn", "5", "--min-count", "10", "--json")
        expected = loaded.most_similar(query, topn=5, min_count=10)
        assert [n["item"] for n in doc["neighbours"]] == expected["key"].tolist()
        np.testing.assert_allclose(
            [n["similarity"] for n in doc["neighbours"]], expected["similarity"], rtol=1e-6
        )


@pytest.mark.parametrize("name", [*MODELS, "mf-biases-only", "implicit"])
def test_recommend_is_the_estimators(bundles, name: str) -> None:
    path, _ = bundles[name]
    model = el.load(str(path))
    for user in (1, 42):
        for extra in ((), ("--min-count", "50"), ("--explain",)):
            doc = _json("recommend", path, "--user", user, "--n", "6", *extra, "--json")
            expected = model.recommend(
                user,
                6,
                min_count=50 if extra[:1] == ("--min-count",) else None,
                explain="--explain" in extra,
            )
            assert [r["item"] for r in doc["items"]] == expected["item"].tolist()
            np.testing.assert_allclose(
                [r["score"] for r in doc["items"]], expected["score"], rtol=1e-5, atol=1e-5
            )
            if "--explain" in extra:
                assert [r["because"] for r in doc["items"]] == expected["because"].tolist()


@pytest.mark.parametrize("name", [*MODELS, "mf-biases-only", "implicit"])
def test_lookup_scores_every_item_as_the_module(bundles, name: str) -> None:
    path, _ = bundles[name]
    model, lookup = el.load(str(path)), load_lookup(path)
    users = np.arange(len(model.users_))
    mine = np.concatenate([lookup._score_user(int(u)) for u in users])
    np.testing.assert_allclose(mine, model._score_users(users), rtol=1e-5, atol=1e-5)
    for which in ("item_embeddings", "user_embeddings"):
        a, b = getattr(lookup, which)(), getattr(model, which)()
        np.testing.assert_array_equal(a.vectors, b.vectors)
        assert a.keys.ids().tolist() == b.keys.ids().tolist()
        assert (a.labels is None) == (b.labels is None)
        if a.labels is not None:
            assert a.labels.tolist() == b.labels.tolist()
        assert (a.metadata is None) == (b.metadata is None)
        if a.metadata is not None:
            assert a.metadata.equals(b.metadata)


def test_lookup_recommend_keeps_the_estimators_options(bundles) -> None:
    path, _ = bundles["mf"]
    model, lookup = el.load(str(path)), load_lookup(path)
    assert isinstance(lookup, LookupModel) and "MatrixFactorization" in repr(lookup)
    for kwargs in (
        {"exclude_seen": False},
        {"candidates": [1, 2, 3, 4, 5]},
        {"genres": ["Action", "Horror"]},
        {"min_count": 60, "explain": True},
    ):
        a, b = lookup.recommend(7, 4, **kwargs), model.recommend(7, 4, **kwargs)
        assert a.columns.tolist() == b.columns.tolist()
        assert a["item"].tolist() == b["item"].tolist()
        if "because" in b:
            assert a["because"].tolist() == b["because"].tolist()
    with pytest.raises(el.UnknownIDError, match="recommend_for_ratings"):
        lookup.recommend(987654)
    with pytest.raises(ValueError, match="not both"):
        lookup.recommend(7, candidates=[1], min_count=3)


def _renamed_layer(tensors: dict) -> None:
    tensors["mlp.9.weight"] = tensors.pop("mlp.0.weight")
    tensors["mlp.9.bias"] = tensors.pop("mlp.0.bias")


@pytest.mark.parametrize(
    ("kind", "model_class", "edit"),
    [
        ("mf", "SomethingElse", None),
        ("neural", "NeuralEmbeddingModel", _renamed_layer),
        ("mf", "MatrixFactorization", lambda t: t.pop("user_bias.weight")),
    ],
    ids=["unknown-class", "renamed-hidden-layer", "missing-bias"],
)
def test_a_bundle_is_refused_as_load_refuses_it(
    bundles, tmp_path, kind: str, model_class: str, edit
) -> None:
    from embedlab.io import load_bundle, save_bundle

    bundle = load_bundle(bundles[kind][0])
    tensors = dict(bundle.tensors)
    if edit is not None:
        edit(tensors)
    other = save_bundle(
        tmp_path / "other",
        model_class=model_class,
        config=bundle.config,
        tensors=tensors,
        users=bundle.users,
        items=bundle.items,
    )
    with pytest.raises(BundleError) as lookup_error:
        load_lookup(other)
    with pytest.raises(BundleError) as load_error:
        el.load(str(other))
    assert str(lookup_error.value) == str(load_error.value)


@pytest.mark.parametrize("name", [*MODELS, "mf-biases-only", "implicit"])
def test_a_new_visitor_is_folded_in_as_the_estimator_does(bundles, name: str) -> None:
    path, _ = bundles[name]
    model, lookup = el.load(str(path)), load_lookup(path)
    for ratings in ({3: 5.0, 17: 1.0}, {8: 4.0}, {1: 2.0, 2: 5.0, 30: 4.5, 40: 1.0}):
        folded = model.fold_in(ratings)
        vector, bias = lookup.fold_in(ratings)
        np.testing.assert_allclose(vector, folded.vector, rtol=1e-4, atol=1e-5)
        assert bias == pytest.approx(folded.bias, rel=1e-4, abs=1e-5)
        rate = [f"--rate={item}={value}" for item, value in ratings.items()]
        doc = _json("recommend", path, *rate, "--n", "5", "--explain", "--json")
        expected = model.recommend_for_ratings(ratings, 5, explain=True)
        assert [r["item"] for r in doc["items"]] == expected["item"].tolist()
        np.testing.assert_allclose(
            [r["score"] for r in doc["items"]], expected["score"], rtol=1e-5, atol=1e-5
        )
        assert [r["because"] for r in doc["items"]] == expected["because"].tolist()
    kwargs = {"min_count": 60, "exclude_seen": False}
    a = lookup.recommend_for_ratings({3: 5.0}, 4, **kwargs)
    assert a["item"].tolist() == model.recommend_for_ratings({3: 5.0}, 4, **kwargs)["item"].tolist()


# ------------------------------------------------------------------ no torch, no numba
def _imported(args: list[str]) -> tuple[int, set[str], str]:
    """Run ``python -X importtime -m embedlab ARGS``; the exit code, the top-level names
    of every module imported, and stderr without the import lines."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "embedlab", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    modules, rest = set(), []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[-1].strip()
            modules.add(name.split(".")[0])
        else:
            rest.append(line)
    return proc.returncode, modules, "\n".join(rest)


@pytest.mark.parametrize("model", ["mf", "neural", "implicit"])
def test_lookup_commands_import_neither_torch_nor_numba(bundles, model: str, tmp_path) -> None:
    path = str(bundles[model][0])
    commands = [
        ["--help"],
        ["similar", "--help"],
        ["similar", path, "3", "--topn", "3"],
        ["similar", path, "synthetic movie 3 (action)", "--json"],
        ["recommend", path, "--user", "7", "--n", "3", "--explain"],
        ["recommend", path, "--user", "7", "--json"],
        ["recommend", path, "--rate", "3=5", "--rate", "Synthetic Movie 17=2", "--explain"],
        ["export", path, "--format", "npy", "--out", str(tmp_path / f"{model}.npz")],
        ["export", path, "--format", "word2vec", "--users", "--out", str(tmp_path / "u.w2v")],
        ["info", path],
        ["info", path, "--json"],
    ]
    for args in commands:
        code, modules, stderr = _imported(args)
        assert code == 0, (args, stderr)
        assert "embedlab" in modules, args  # the listing is complete
        heavy = sorted(modules & set(HEAVY))
        assert not heavy, f"embedlab {' '.join(args)} imported {heavy}"


def test_errors_of_lookups_import_no_torch(bundles) -> None:
    path = str(bundles["mf"][0])
    for args, words in (
        (["recommend", path, "--user", "987654"], "987654"),
        (["similar", path, "No Such Film Anywhere"], "No Such Film"),
        (["recommend", path, "--rate", "1=abc"], "--rate '1=abc'"),
        (["similar", path + "-missing", "3"], "-missing"),
    ):
        code, modules, stderr = _imported(args)
        assert code == 2 and words in stderr and stderr.startswith("error: "), (args, stderr)
        assert not modules & set(HEAVY), args


def test_a_bug_in_a_lookup_is_an_internal_error(bundles, monkeypatch: pytest.MonkeyPatch) -> None:
    import embedlab.io

    monkeypatch.delenv("EMBEDLAB_DEBUG", raising=False)

    def broken(*args: object, **kwargs: object) -> object:
        raise ZeroDivisionError("planted bug")

    monkeypatch.setattr(embedlab.io, "load_lookup", broken)
    args = ["similar", str(bundles["mf"][0]), "1"]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 1 and "Traceback" not in plain.stderr
    loud = runner.invoke(app, [*args, "--verbose"])
    assert loud.exit_code == 1
    assert "Traceback" in loud.stderr and "ZeroDivisionError: planted bug" in loud.stderr
    assert loud.stderr.splitlines()[-1].startswith("internal error: ZeroDivisionError")
