"""``embedlab features fit|transform|similar|export`` and ``serve --column`` (issue 22).

The planted table: sales of 40 stores (codes with leading zeros, ``"007"``) in two
groups, 12 products and 7 weekdays. A store adds +2 to the target in group "up" and -2 in
group "down", a product its own effect, a weekday little; noise 0.3. Neighbours of a store
by its learned vector are then mostly stores of its own group.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from embedlab.cli import app
from embedlab.embeddings import open_vectors
from embedlab.features import EmbeddingEncoder

runner = CliRunner()

STORES = [f"{k:03d}" for k in range(40)]
UP = set(STORES[::2])
#: Small and seeded: two folds for the cross-fitted features.
SMALL = ["--random-state", "0", "--cv", "2"]


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    store = rng.choice(STORES, n)
    product = rng.integers(0, 12, n)
    day = rng.choice(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], n)
    effect = np.where(np.isin(store, list(UP)), 2.0, -2.0) + 0.25 * product
    y = effect + 0.1 * (day == "sat") + rng.normal(0, 0.3, n)
    return pd.DataFrame(
        {"row_id": np.arange(n), "store": store, "product": product, "day": day, "sales": y}
    )


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("features")
    train, test = folder / "train.csv", folder / "test.parquet"
    _table(4000, 0).to_csv(train, index=False)
    _table(500, 1).to_parquet(test, index=False)
    return train, test


@pytest.fixture(scope="module")
def fitted(tables, tmp_path_factory) -> tuple[Path, Path, dict]:
    folder = tmp_path_factory.mktemp("encoder")
    out, feats = folder / "enc", folder / "train-features.parquet"
    args = ["features", "fit", str(tables[0]), "--target", "sales", "--out", str(out)]
    args += ["--columns", "store,product,day", "--features", str(feats), "--keep", "row_id"]
    result = runner.invoke(app, [*args, *SMALL, "--json"])
    assert result.exit_code == 0, result.output
    return out, feats, json.loads(result.stdout)


def test_fit_writes_a_bundle_and_says_what_it_learned(fitted) -> None:
    out, _, summary = fitted
    assert (out / "model.json").is_file() and summary["out"] == str(out)
    assert summary["task"] == "regression" and summary["rows"] == 4000
    by_column = {c["column"]: c for c in summary["columns"]}
    assert by_column["store"]["levels"] == 40 and by_column["product"]["levels"] == 12
    assert summary["best_epoch"] >= 1 and summary["validation_loss"] is not None
    assert summary["table_decay"] in (0.0, 3.0)
    assert summary["fold_networks"] == 2  # --features cross-fits (--cv 2); transform averages
    encoder = EmbeddingEncoder.load(out)
    # --columns are read as text: the codes keep their zeros
    assert encoder.kinds_[0] == "str" and "007" in list(encoder.categories_[0])
    assert summary["features"] == len(encoder.get_feature_names_out())


def test_fit_text_output_names_each_column(tables, tmp_path) -> None:
    args = ["features", "fit", str(tables[0]), "--target", "sales", "--out", str(tmp_path / "e")]
    result = runner.invoke(app, [*args, "--columns", "store,day", "--random-state", "0"])
    assert result.exit_code == 0, result.output
    assert "regression of 'sales' from 4,000 rows" in result.stdout
    assert "store: 40 levels" in result.stdout and "day: 7 levels" in result.stdout
    assert f"wrote the encoder to {tmp_path / 'e'}" in result.stdout


def test_fit_without_vectors_writes_effects_and_prediction(tables, tmp_path) -> None:
    feats = tmp_path / "f.csv"
    args = ["features", "fit", str(tables[0]), "--target", "sales", "--out", str(tmp_path / "e")]
    args += ["--columns", "store,day", "--no-vector-columns", "--features", str(feats)]
    result = runner.invoke(app, [*args, *SMALL])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(feats)
    assert list(frame.columns) == [
        "store_effect",
        "day_effect",
        "additive_prediction",
        "prediction",
    ]
    train = pd.read_csv(tables[0])
    # the store's additive effect alone carries the planted +-2 groups
    assert np.corrcoef(frame["store_effect"], train["sales"])[0, 1] > 0.9
    assert EmbeddingEncoder.load(tmp_path / "e").effects == "additive"


def test_the_training_features_are_cross_fitted(fitted, tables) -> None:
    out, feats, _ = fitted
    frame = pd.read_parquet(feats)
    encoder = EmbeddingEncoder.load(out)
    names = [str(n) for n in encoder.get_feature_names_out()]
    assert list(frame.columns) == ["row_id", *names] and len(frame) == 4000
    assert frame["row_id"].tolist() == list(range(4000))
    train = pd.read_csv(tables[0], dtype={"store": str})
    again = encoder.transform(train[["row_id", "store", "product", "day"]])
    # out-of-fold values differ from transform's (every fold network, averaged), yet
    # predict the target as well
    assert len(encoder.fold_modules_) == 2
    assert not np.allclose(frame[names].to_numpy(), again)
    corr = np.corrcoef(frame["prediction"], train["sales"])[0, 1]
    assert corr > 0.95


def test_transform_writes_what_the_python_encoder_gives(fitted, tables, tmp_path) -> None:
    out, _, _ = fitted
    dest = tmp_path / "test-features.csv"
    args = ["features", "transform", str(out), str(tables[1]), "--out", str(dest)]
    result = runner.invoke(app, [*args, "--keep", "row_id,sales", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 500
    written = pd.read_csv(dest)
    encoder = EmbeddingEncoder.load(out)
    test = pd.read_parquet(tables[1])
    expected = encoder.transform(test.drop(columns=["sales"]))
    names = [str(n) for n in encoder.get_feature_names_out()]
    assert list(written.columns) == ["row_id", "sales", *names]
    np.testing.assert_allclose(written[names].to_numpy(), expected, rtol=1e-5, atol=1e-6)
    # the network's prediction is the target's, in its units
    rmse = float(np.sqrt(np.mean((written["prediction"] - written["sales"]) ** 2)))
    assert rmse < 0.5


def test_similar_finds_stores_of_the_same_group(fitted) -> None:
    out, _, _ = fitted
    hits = 0
    for store in ("000", "001", "002", "003"):
        args = ["features", "similar", str(out), store, "--column", "store", "--topn", "5"]
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        found = [n["item"] for n in json.loads(result.stdout)["neighbours"]]
        assert len(found) == 5 and store not in found
        hits += sum((f in UP) == (store in UP) for f in found)
    assert hits >= 17  # of 20; chance is 10


def test_similar_defaults_to_the_widest_column_and_filters_by_rows(fitted) -> None:
    out, _, _ = fitted
    result = runner.invoke(app, ["features", "similar", str(out), "007", "--topn", "3"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("nearest to 007:") and len(result.stdout.splitlines()) == 4
    many = runner.invoke(app, ["features", "similar", str(out), "007", "--min-count", "1e9"])
    assert many.exit_code == 0 and len(many.stdout.splitlines()) == 1


def test_export_writes_the_columns_vectors(fitted, tmp_path) -> None:
    out, _, _ = fitted
    dest = tmp_path / "days.w2v"
    args = ["features", "export", str(out), "--column", "day", "--format", "word2vec"]
    result = runner.invoke(app, [*args, "--out", str(dest)])
    assert result.exit_code == 0, result.output
    back = open_vectors(dest)
    vectors = EmbeddingEncoder.load(out).column_embeddings("day")
    assert sorted(back.keys.ids()) == sorted(vectors.keys.ids())
    np.testing.assert_allclose(
        back.vectors[back.keys.indices(["sat"])], vectors["sat"][None], rtol=1e-5
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nope"], "--target nope: not a column of"),
        (["--target", "sales", "--columns", "store,shop"], "--columns shop: not a column of"),
        (["--target", "sales", "--columns", "store,,day"], "--columns 'store,,day': expected"),
        (["--target", "store", "--columns", "store"], "--target 'store' is also in --columns"),
        (["--target", "sales", "--hidden", "0"], "--hidden"),
        (["--target", "sales", "--task", "guess"], "--task"),
        (["--target", "sales", "--features", "f.xlsx"], "--features f.xlsx: unknown table format"),
        (["--target", "sales", "--keep", "row_id"], "--keep applies with --features"),
        (["--target", "sales", "--columns", "row_id", "--passthrough"], "--columns"),
        (["--target", "sales", "--effects", "glm"], "--effects glm: expected one of"),
        (
            ["--target", "sales", "--table-decay", "lots"],
            "--table-decay lots: expected 'auto' or a number >= 0",
        ),
        (["--target", "sales", "--table-decay", "-1"], "--table-decay -1"),
        (
            [
                "--target",
                "sales",
                "--no-vector-columns",
                "--no-bias-columns",
                "--no-prediction-column",
            ],
            "--no-vector-columns, --no-bias-columns and --no-prediction-column leave",
        ),
    ],
)
def test_fit_errors_are_one_line(tables, tmp_path, args, message) -> None:
    os.chdir(tmp_path)
    result = runner.invoke(
        app, ["features", "fit", str(tables[0]), "--out", str(tmp_path / "e"), *args]
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "e").exists()


def test_fit_on_missing_targets_and_empty_tables_fails_clearly(tmp_path) -> None:
    holes = tmp_path / "holes.csv"
    holes.write_text("shop,y\na,1.5\nb,\nc,2\n")
    result = runner.invoke(
        app, ["features", "fit", str(holes), "--target", "y", "--out", str(tmp_path / "e")]
    )
    assert result.exit_code == 2
    assert "--target 'y': 1 rows have no value (first at data row 2)" in result.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("shop,y\n")
    result = runner.invoke(
        app, ["features", "fit", str(empty), "--target", "y", "--out", str(tmp_path / "e")]
    )
    assert result.exit_code == 2 and "has a header but no rows" in result.stderr
    result = runner.invoke(
        app, ["features", "fit", str(tmp_path / "none.csv"), "--target", "y", "--out", "e"]
    )
    assert result.exit_code == 2 and "file not found" in result.stderr


def test_transform_errors_are_one_line(fitted, tables, tmp_path) -> None:
    out, _, _ = fitted
    unseen = _table(20, 2)
    unseen.loc[3, "store"] = "999"
    path = tmp_path / "unseen.csv"
    unseen.to_csv(path, index=False)
    cases = [
        ([str(out), str(path), "--out", str(tmp_path / "f.csv")], "999"),
        ([str(tmp_path / "no-enc"), str(path), "--out", str(tmp_path / "f.csv")], "not found"),
        ([str(out), str(path), "--out", str(tmp_path / "f.json")], "unknown table format"),
        ([str(out), str(path), "--out", str(tmp_path / "f.csv"), "--keep", "x"], "--keep x"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["features", "transform", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    no_day = tmp_path / "no-day.csv"
    unseen.drop(columns=["day"]).to_csv(no_day, index=False)
    result = runner.invoke(
        app, ["features", "transform", str(out), str(no_day), "--out", str(tmp_path / "f.csv")]
    )
    assert result.exit_code == 2 and "TABLE day: not a column of" in result.stderr
    assert not (tmp_path / "f.csv").exists()


def test_similar_and_export_name_a_wrong_column(fitted, tmp_path) -> None:
    out, _, _ = fitted
    result = runner.invoke(app, ["features", "similar", str(out), "mon", "--column", "weekday"])
    assert result.exit_code == 2
    assert "--column 'weekday'" in result.stderr and "store, product, day" in result.stderr
    result = runner.invoke(
        app, ["features", "export", str(out), "--format", "csv", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "--format 'csv'" in result.stderr


def test_features_help_imports_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from embedlab.cli import app; from typer.testing import CliRunner; "
        "r = CliRunner().invoke(app, ['features', 'fit', '--help']); "
        "assert r.exit_code == 0 and '--target' in r.stdout and '--hidden' in r.stdout, r.output; "
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# ---------------------------------------------------------------------- serve --column
@pytest.fixture
def runs(monkeypatch) -> list[dict]:
    """uvicorn.run and limit_threads recorded instead of run."""
    import uvicorn

    import embedlab.web

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    monkeypatch.setattr(embedlab.web, "limit_threads", lambda n: None)
    return calls


def _get(web_app, path: str, **params) -> dict:
    """GET ``path`` in-process (httpx ASGITransport)."""
    import asyncio

    import httpx

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=web_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, params=params)

    answer = asyncio.run(go())
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_serve_explores_an_encoder_column(fitted, runs) -> None:
    out, _, _ = fitted
    result = runner.invoke(app, ["serve", str(out), "--column", "store", "--map", "pca"])
    assert result.exit_code == 0, result.output
    assert f"embedlab explorer of the store vectors of {out} on http" in result.stdout
    web_app = runs[-1]["app"]
    info = _get(web_app, "/api/info")
    assert info["has_model"] is False and info["n_items"] == 40
    assert info["source"] == "enc:store"
    found = _get(web_app, "/api/items/000/neighbours", k=5, min_count=0)
    keys = [n["key"] for n in found["neighbours"]]
    assert len(keys) == 5 and sum((k in UP) for k in keys) >= 4


def test_serve_workers_load_the_encoder_column(fitted, runs, monkeypatch) -> None:
    from embedlab.web import app_from_env
    from embedlab.web._app import SERVE_CONFIG_ENV

    monkeypatch.delenv(SERVE_CONFIG_ENV, raising=False)
    out, _, _ = fitted
    result = runner.invoke(app, ["serve", str(out), "--column", "day", "--workers", "2"])
    assert result.exit_code == 0, result.output
    config = json.loads(os.environ[SERVE_CONFIG_ENV])
    assert config["encoder"] == {"path": str(out.resolve()), "column": "day"}
    info = _get(app_from_env(), "/api/info")
    assert info["n_items"] == 7 and info["source"] == "enc:day"
    monkeypatch.delenv(SERVE_CONFIG_ENV)


def test_serve_column_needs_an_encoder_bundle(tmp_path, runs) -> None:
    words = tmp_path / "words.txt"
    words.write_text("2 3\ncat 1 0 0\ndog 0.9 0.1 0\n")
    result = runner.invoke(app, ["serve", str(words), "--column", "store"])
    assert result.exit_code == 2 and not runs
    assert "--column applies to an encoder bundle" in result.stderr
    assert "is a vectors file" in result.stderr


def test_map_draws_an_encoder_column(fitted, tmp_path) -> None:
    out, _, _ = fitted
    page = tmp_path / "stores.html"
    args = ["map", str(out), "--column", "store", "--method", "pca", "--out", str(page)]
    result = runner.invoke(app, [*args, "--top-n", "10"])
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    # hover shows each level's rows (the encoder's count column), the title the column
    assert "rows: %{customdata[2]}" in html and "column &#x27;store&#x27;" in html
    assert "· 10 levels of bundle" in html
    # without --column: the column with the most levels (store: 40, product: 12, day: 7)
    result = runner.invoke(app, ["map", str(out), "--method", "pca", "--out", str(page)])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(app, [*args[:2], "--column", "nope", "--out", str(page)])
    assert bad.exit_code == 2 and "--column 'nope'" in bad.stderr


def test_map_top_n_ranks_encoder_levels_by_rows(fitted) -> None:
    from embedlab.viz import embedding_map

    out, _, _ = fitted
    vectors = EmbeddingEncoder.load(out).column_embeddings("store")
    counts = pd.Series(vectors.metadata["n_rows"].to_numpy(), index=map(str, vectors.keys))
    picture = embedding_map(vectors, "pca", top_n=10)
    shown = picture.projection["key"].astype(str)
    assert len(shown) == 10
    assert set(shown) == set(counts.sort_values(ascending=False, kind="stable").index[:10])


def test_map_column_needs_an_encoder_bundle(tmp_path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("2 3\ncat 1 0 0\ndog 0.9 0.1 0\n")
    args = ["map", str(words), "--column", "store", "--out", str(tmp_path / "m.html")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--column applies to an encoder bundle" in result.stderr


def test_fit_learns_pairs_of_columns(tables, tmp_path) -> None:
    args = ["features", "fit", str(tables[0]), "--target", "sales", "--out", str(tmp_path / "e")]
    args += ["--columns", "store,product,day", "--interactions", "product:day"]
    result = runner.invoke(app, [*args, "--random-state", "0", "--json"])
    assert result.exit_code == 0, result.output
    columns = [c["column"] for c in json.loads(result.stdout)["columns"]]
    assert columns == ["store", "product", "day", "product×day"]
    found = runner.invoke(
        app, ["features", "similar", str(tmp_path / "e"), "3×sat", "--column", "product×day"]
    )
    assert found.exit_code == 0, found.output
    bad = runner.invoke(app, [*args[:-2], "--interactions", "product:weekday"])
    assert bad.exit_code == 2 and "--interactions" in bad.stderr and "'weekday'" in bad.stderr


def test_fit_names_the_pairs_the_screen_chose(tmp_path) -> None:
    # a planted interaction of store and day (each store sells on its own weekday): the
    # default --interactions auto gives store×day a table, and the summary says so
    rng = np.random.default_rng(3)
    n = 6000
    store, day = rng.choice(STORES[:10], n), rng.choice(["mon", "tue", "wed", "thu"], n)
    busy = np.array([["mon", "tue", "wed", "thu"][int(s) % 4] for s in store]) == day
    frame = pd.DataFrame({"store": store, "day": day, "sales": 3.0 * busy + rng.normal(0, 0.3, n)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    args = ["features", "fit", str(tmp_path / "t.csv"), "--target", "sales"]
    args += ["--columns", "store,day", "--out", str(tmp_path / "e"), "--epochs", "2", *SMALL]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["interactions"] == [["store", "day"]]
    result = runner.invoke(app, [*args, "--interactions", "auto"])
    assert result.exit_code == 0, result.output
    assert "store×day: 40 levels" in result.stdout and "(a pair of columns)" in result.stdout
    result = runner.invoke(app, [*args, "--interactions", "none", "--json"])
    assert json.loads(result.stdout)["interactions"] == []
