"""`embedlab similar`, `embedlab recommend` and `embedlab export` on a small saved bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import embedlab as el
from embedlab.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    ds, _ = el.synthetic_ratings(150, 60, 4000, random_state=3)
    model = el.MatrixFactorization(embedding_dim=8, epochs=5, random_state=0)
    model.fit(ds, progress=False)
    path = model.save(tmp_path_factory.mktemp("models") / "mf")
    return path, model


def _run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_similar_by_title_and_by_id(bundle) -> None:
    path, model = bundle
    title = model.item_metadata_["title"].iloc[4]
    key = int(model.items_.ids()[4])
    result = _run("similar", path, title.lower(), "--topn", "3", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    expected = model.item_embeddings().most_similar(key, topn=3)
    assert doc["query"] == key and doc["label"] == title
    assert [n["item"] for n in doc["neighbours"]] == expected["key"].tolist()
    assert [n["rank"] for n in doc["neighbours"]] == [1, 2, 3]
    result = _run("similar", path, str(key), "--topn", "3")
    assert result.exit_code == 0, result.output
    assert f"nearest to {title} [{key}]" in result.stdout
    assert len(result.stdout.strip().splitlines()) == 4


def test_similar_min_count(bundle) -> None:
    path, model = bundle
    counts = dict(zip(model.items_.ids().tolist(), model.item_counts_.tolist(), strict=True))
    result = _run("similar", path, "1", "--topn", "50", "--min-count", "80", "--json")
    assert result.exit_code == 0, result.output
    items = [n["item"] for n in json.loads(result.stdout)["neighbours"]]
    assert items and all(counts[i] >= 80 for i in items)


def test_similar_unknown_query_is_one_line_with_suggestions(bundle) -> None:
    path, _ = bundle
    result = _run("similar", path, "Synthetic Movie 4 (Drama (199")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    result = _run("similar", path, "no such film at all")
    assert result.exit_code == 2 and result.stderr.startswith("error: ")


def test_recommend(bundle) -> None:
    path, model = bundle
    result = _run("recommend", path, "--user", "7", "--n", "4", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    expected = model.recommend(7, n=4)
    assert [r["item"] for r in doc["items"]] == expected["item"].tolist()
    np.testing.assert_allclose([r["score"] for r in doc["items"]], expected["score"], rtol=1e-6)
    result = _run("recommend", path, "--user", "7", "--n", "2", "--explain")
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.strip().splitlines()
    assert "predicted rating" in header
    assert len(lines) == 2 and all("because you liked" in line for line in lines)
    quiet = _run("recommend", path, "--user", "7", "--n", "2", "-q")
    assert len(quiet.stdout.strip().splitlines()) == 2  # no header with --quiet


def test_recommend_for_a_visitor(bundle) -> None:
    path, model = bundle
    title = model.item_metadata_["title"].iloc[4]
    key = int(model.items_.ids()[4])
    args = ["--rate", f"{title}=5", "--rate", "1=2", "--n", "4", "--explain", "--json"]
    result = _run("recommend", path, *args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ratings"] == [[key, 5.0], [1, 2.0]] and doc["score"] == "predicted rating"
    expected = model.recommend_for_ratings({key: 5.0, 1: 2.0}, n=4, explain=True)
    assert [r["item"] for r in doc["items"]] == expected["item"].tolist()
    np.testing.assert_allclose([r["score"] for r in doc["items"]], expected["score"], rtol=1e-5)
    # only the 5-star film is above the visitor's mean; the 2-star one is never a reason
    assert [r["because"] for r in doc["items"]] == expected["because"].tolist()
    assert any(r["because"] for r in doc["items"])
    assert all(r["because"] in ([], [title]) for r in doc["items"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "99999"], "for a new visitor use --rate ITEM=RATING"),
        (["--rate", "99999=4"], "--rate '99999=4'"),
        (["--rate", "1=4", "--user", "7"], "--user and --rate exclude each other"),
        (["--n", "3"], "pass --user ID (a training user) or --rate ITEM=RATING"),
        (["--rate", "1=4", "--n", "0"], "--n 0"),
        (["--user", "7", "--n", "0"], "--n 0"),
        (["--user", "7", "--min-count", "-2"], "--min-count -2"),
    ],
)
def test_recommend_user_errors(bundle, args, message) -> None:
    path, _ = bundle
    result = _run("recommend", path, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_export_formats(bundle, tmp_path) -> None:
    path, model = bundle
    out = tmp_path / "items.w2v"
    result = _run("export", path, "--format", "word2vec", "--out", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["vectors"] == len(model.items_)
    back = el.KeyedEmbeddings.load_word2vec_format(out)
    np.testing.assert_allclose(back.vectors, model.item_embeddings().vectors, rtol=1e-5)

    result = _run("export", path, "--format", "npy", "--out", tmp_path / "users.npz", "--users")
    assert result.exit_code == 0, result.output
    assert len(el.KeyedEmbeddings.from_numpy(tmp_path / "users.npz")) == len(model.users_)

    result = _run("export", path, "--format", "parquet", "--out", tmp_path / "items.parquet")
    assert result.exit_code == 0 and "wrote 60 item vectors" in result.stdout

    result = _run("export", path, "--format", "projector", "--out", tmp_path / "proj")
    assert result.exit_code == 0, result.output
    assert any((tmp_path / "proj").iterdir())


def test_export_gensim(bundle, tmp_path) -> None:
    gensim = pytest.importorskip("gensim")
    path, model = bundle
    out = tmp_path / "items.kv"
    result = _run("export", path, "--format", "gensim", "--out", out)
    assert result.exit_code == 0, result.output
    kv = gensim.models.KeyedVectors.load(str(out))
    assert len(kv) == len(model.items_)


def test_export_user_errors(bundle, tmp_path) -> None:
    path, _ = bundle
    result = _run("export", path, "--format", "csv", "--out", tmp_path / "x")
    assert result.exit_code == 2 and "--format 'csv'" in result.stderr
    result = _run("export", path, "--format", "npy", "--out", tmp_path / "x", "--binary")
    assert result.exit_code == 2 and "--binary" in result.stderr


def test_help_has_examples() -> None:
    for command in ("similar", "recommend", "export"):
        result = _run(command, "--help")
        assert result.exit_code == 0 and "Example: embedlab " + command in result.stdout
