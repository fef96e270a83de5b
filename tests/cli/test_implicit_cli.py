"""The command line on implicit feedback (issue 21): ``train --feedback implicit``,
``evaluate`` with the ranking metrics, ``data info`` with the weights, and the lookups
(``similar``, ``recommend``, ``info``, ``export``) on a bundle of
:class:`~embedlab.ImplicitMatrixFactorization`.

The planted purchase log: 60 customers (string IDs) in three shops of ten products
each; every customer buys six products of their own shop, some of them twice, with a
quantity and a timestamp. The last product each customer bought is held out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import embedlab as el
from embedlab.cli import app
from embedlab.data import load_interactions
from embedlab.evaluation import cross_validate, ranking_metrics
from embedlab.io import bundle_info
from movielens_files import tiny_ml100k_files, write_files

runner = CliRunner()

SHOPS = {shop: [f"{shop}-{k}" for k in "abcdefghij"] for shop in ("garden", "kitchen", "office")}
#: The table options of the purchase log (its columns are not named like IDs).
COLUMNS = ["--user", "customer", "--item", "product"]
#: Small and seeded: the defaults but 8 dimensions.
MODEL = ["--embedding-dim", "8", "--random-state", "0"]


def _purchases() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows, t = [], 1_600_000_000
    for shop, products in SHOPS.items():
        for u in range(20):
            customer = f"{shop[:3]}-customer-{u:02d}"
            for product in rng.choice(products, size=6, replace=False):
                for _ in range(int(rng.integers(1, 3))):  # some pairs repeat
                    rows.append((customer, product, int(rng.integers(1, 4)), t))
                    t += 60
    return pd.DataFrame(rows, columns=["customer", "product", "quantity", "timestamp"])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("purchases")
    log = _purchases()
    last = log.groupby("customer")["product"].transform("last")
    out = {}
    for name, frame in (
        ("all", log),
        ("train", log[log["product"] != last]),
        ("test", log[log["product"] == last]),
        ("clicks", log[["customer", "product"]]),  # no weight, no timestamp
    ):
        out[name] = folder / f"{name}.csv"
        frame.to_csv(out[name], index=False)
    return out


def _run(*args: object) -> object:
    return runner.invoke(app, [str(a) for a in args])


def _json(*args: object) -> dict:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _one_line_error(result: object, *parts: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def bundle(files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CLI's model of the training purchases, weighted by quantity."""
    out = tmp_path_factory.mktemp("runs") / "purchases"
    result = _run(
        "train", files["train"], "--feedback", "implicit", *COLUMNS, "--weight", "quantity",
        *MODEL, "--layout", "none", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "trained ImplicitMatrixFactorization on 300 interactions" in result.stdout
    return out


def _train_frame(files: dict[str, Path]) -> el.Interactions:
    return load_interactions(files["train"], user="customer", item="product", weight="quantity")


# ------------------------------------------------------------------ train
def test_train_is_the_python_model(files: dict[str, Path], bundle: Path, tmp_path: Path) -> None:
    data = _train_frame(files)
    assert data.feedback == "implicit" and len(data) == 300  # 60 x 5 pairs, repeats summed
    model = el.ImplicitMatrixFactorization(embedding_dim=8, random_state=0).fit(
        data, progress=False
    )
    model.save(tmp_path / "py")
    cli, py = bundle_info(bundle)["config"], bundle_info(tmp_path / "py")["config"]
    assert cli["settings"] == py["settings"] and cli["data"] == py["data"]
    assert bundle_info(bundle)["model_class"] == "ImplicitMatrixFactorization"
    loaded = el.load(str(bundle))
    np.testing.assert_array_equal(loaded.item_embeddings().vectors, model.item_embeddings().vectors)


def test_train_json_and_engine_options(files: dict[str, Path], tmp_path: Path) -> None:
    doc = _json(
        "train", files["train"], "--feedback", "implicit", *COLUMNS, "--engine", "bpr",
        "--epochs", "3", *MODEL, "--layout", "none", "--out", tmp_path / "bpr",
    )  # fmt: skip
    assert doc["model"] == "ImplicitMatrixFactorization" and doc["feedback"] == "implicit"
    assert doc["epochs"] == 3 and doc["val_rmse"] is None
    settings = bundle_info(tmp_path / "bpr")["config"]["settings"]
    assert settings["engine"] == "bpr" and "alpha" not in settings
    _json(
        "train", files["train"], "--feedback", "implicit", *COLUMNS, "--alpha", "2",
        "--l2-user", "5", "--l2-item", "5", "--epochs", "2", *MODEL, "--layout", "none",
        "--out", tmp_path / "als",
    )  # fmt: skip
    settings = bundle_info(tmp_path / "als")["config"]["settings"]
    assert (settings["alpha"], settings["l2_user"], settings["epochs"]) == (2.0, 5.0, 2)


def test_train_without_a_weight_column(files: dict[str, Path], tmp_path: Path) -> None:
    result = _run(
        "train", files["clicks"], "--feedback", "implicit", *COLUMNS, *MODEL,
        "--layout", "none", "--out", tmp_path / "clicks", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "clicks")
    # 548 rows over 360 (customer, product) pairs: repeats count by default (sum)
    assert bundle_info(tmp_path / "clicks")["config"]["data"]["n_ratings"] == 360


def test_duplicates_policy(files: dict[str, Path]) -> None:
    summed = _json("data", "info", files["all"], "--feedback", "implicit", *COLUMNS, "--weight",
                   "quantity")  # fmt: skip
    maximum = _json("data", "info", files["all"], "--feedback", "implicit", *COLUMNS, "--weight",
                    "quantity", "--duplicates", "max")  # fmt: skip
    assert summed["n_ratings"] == maximum["n_ratings"] == 360
    assert summed["weights"]["max"] > maximum["weights"]["max"] == 3


# ------------------------------------------------------------------ data info
def test_data_info_shows_the_feedback_and_weights(files: dict[str, Path]) -> None:
    doc = _json("data", "info", files["train"], "--feedback", "implicit", *COLUMNS,
                "--weight", "quantity")  # fmt: skip
    assert doc["feedback"] == "implicit" and doc["rating_histogram"] == {}
    assert (doc["n_ratings"], doc["n_users"], doc["n_items"]) == (300, 60, 30)
    assert doc["weights"]["min"] >= 1 and doc["weights"]["max"] <= 6
    text = runner.invoke(
        app, ["data", "info", str(files["train"]), "--feedback", "implicit", *COLUMNS,
              "--weight", "quantity"], env={"COLUMNS": "200"},
    )  # fmt: skip
    assert text.exit_code == 0, text.output
    for piece in ("implicit (interactions without ratings)", "300 (user, item) pairs",
                  "weight mean ± std", "interactions per user", "time"):  # fmt: skip
        assert piece in text.stdout, piece
    plain = runner.invoke(
        app, ["data", "info", str(files["clicks"]), "--feedback", "implicit", *COLUMNS],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert plain.exit_code == 0 and "weights" in plain.stdout


def test_data_info_of_ratings_made_positive(tmp_path: Path) -> None:
    table = tmp_path / "stars.csv"
    table.write_text("user,item,rating\nann,tea,5\nann,jam,1\nbob,tea,4\nbob,jam,2\ncid,jam,3\n")
    result = _run("data", "info", table, "--feedback", "implicit", "--positive-threshold", "4",
                  "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["feedback"], doc["n_ratings"], doc["n_users"], doc["n_items"]) == (
        "implicit", 2, 3, 2,
    )  # fmt: skip
    # users and items left without a positive: one warning line, not an error
    warning = result.stderr.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("warning: --positive-threshold 4: ")
    assert "1 of 3 users and 1 of 2 items have no rating >= 4" in warning[0]


# ------------------------------------------------------------------ evaluate
def test_evaluate_scores_held_out_purchases(files: dict[str, Path], bundle: Path) -> None:
    doc = _json("evaluate", bundle, "--data", files["test"], *COLUMNS, "--weight", "quantity")
    for name in ("ndcg@10", "recall@10", "recall@20", "map@10", "coverage@10", "popularity@10"):
        assert name in doc
    assert doc["n_users"] == 60 and doc["n_test"] == 60 and doc["unknown_users"] == 0
    assert doc["recall@10"] == 1.0 and doc["ndcg@10"] > 0.5  # the shop's unbought products
    assert doc["training_pairs"] == 0
    # the same numbers as the Python API's metrics on the model's lists
    model, test = (
        el.load(str(bundle)),
        load_interactions(files["test"], user="customer", item="product", weight="quantity"),
    )
    expected = ranking_metrics(
        model.recommend_batch(test.users.ids(), n=20), test, k=10, threshold=0.5
    )
    for name in ("ndcg@10", "recall@10", "map@10"):
        assert doc[name] == pytest.approx(expected[name])
    text = _run("evaluate", bundle, "--data", files["test"], *COLUMNS, "--metrics", "ndcg@5,hit@3")
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("ndcg@5 ") and "  hit@3 0." in text.stdout
    assert "(60 users, 60 test interactions)" in text.stdout


def test_evaluate_warns_about_training_interactions(files: dict[str, Path], bundle: Path) -> None:
    result = _run("evaluate", bundle, "--data", files["train"], *COLUMNS, "--weight", "quantity")
    assert result.exit_code == 0, result.output
    assert "warning: 100% of the test interactions (300) are training interactions" in (
        result.stderr
    )


def test_evaluate_protocol_is_cross_validate(files: dict[str, Path], bundle: Path) -> None:
    doc = _json(
        "evaluate", bundle, "--data", files["all"], *COLUMNS, "--weight", "quantity",
        "--protocol", "user", "--test-size", "0.2", "--seeds", "3",
    )  # fmt: skip
    data = load_interactions(files["all"], user="customer", item="product", weight="quantity")
    frame = cross_validate(
        lambda: el.ImplicitMatrixFactorization(embedding_dim=8, random_state=0),
        data,
        "user",
        test_size=0.2,
        seeds=(3,),
    )
    assert doc["protocol"]["protocol"] == "user" and doc["protocol"]["seeds"] == [3]
    assert len(doc["folds"]) == 1
    for name in ("ndcg@10", "recall@20", "coverage@10", "popularity@10"):
        assert doc[name] == pytest.approx(float(frame[name].iloc[0]))
    text = _run(
        "evaluate", bundle, "--data", files["all"], *COLUMNS, "--protocol", "user-temporal",
        "--test-size", "0.2", "--metrics", "recall@10",
    )  # fmt: skip
    assert text.exit_code == 0, text.output
    assert "protocol user-temporal, test size 0.2" in text.stdout


def test_evaluate_of_a_rating_model_is_unchanged(tmp_path: Path) -> None:
    ds, _ = el.synthetic_ratings(40, 20, 600, random_state=0)
    model = el.MatrixFactorization(embedding_dim=4, epochs=2, random_state=0).fit(
        ds, progress=False
    )
    path = model.save(tmp_path / "mf")
    table = tmp_path / "r.csv"
    ds.to_pandas()[["user", "item", "rating"]].to_csv(table, index=False)
    result = _run("evaluate", path, "--data", table)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("RMSE ") and "MAE" in result.stdout
    _one_line_error(
        _run("evaluate", path, "--data", table, "--positive-threshold", "4"),
        "--positive-threshold: applies to a model of implicit feedback",
        "MatrixFactorization of ratings",
    )


# ------------------------------------------------------------------ lookups
def test_lookups_of_an_implicit_bundle(
    files: dict[str, Path], bundle: Path, tmp_path: Path
) -> None:
    model = el.load(str(bundle))
    doc = _json("similar", bundle, "garden-a", "--topn", "4")
    assert all(n["item"].startswith("garden-") for n in doc["neighbours"])
    expected = model.item_embeddings().most_similar("garden-a", topn=4)
    assert [n["item"] for n in doc["neighbours"]] == expected["key"].tolist()
    doc = _json("recommend", bundle, "--user", "off-customer-03", "--n", "3")
    assert doc["score"] == "preference score"
    recs = model.recommend("off-customer-03", 3)
    assert [r["item"] for r in doc["items"]] == recs["item"].tolist()
    np.testing.assert_allclose([r["score"] for r in doc["items"]], recs["score"], rtol=1e-5)
    assert all(r["item"].startswith("office-") for r in doc["items"])
    text = _run("recommend", bundle, "--user", "off-customer-03", "--n", "2")
    assert text.exit_code == 0 and "preference score" in text.stdout
    visitor = _json("recommend", bundle, "--rate", "kitchen-a", "--rate", "kitchen-b=3", "--n", "3")
    assert visitor["ratings"] == [["kitchen-a", 1.0], ["kitchen-b", 3.0]]
    assert all(r["item"].startswith("kitchen-") for r in visitor["items"])
    info = _run("info", bundle)
    assert info.exit_code == 0, info.output
    assert "ImplicitMatrixFactorization" in info.stdout and "interactions" in info.stdout
    assert _json("info", bundle)["settings"]["alpha"] == 9.0
    out = tmp_path / "items.npz"
    result = _run("export", bundle, "--format", "npy", "--out", out)
    assert result.exit_code == 0 and out.is_file()
    _one_line_error(_run("recommend", bundle, "--rate", "kitchen-a=-2"), "negative")


def test_lookup_explains_and_folds_in_as_the_implicit_model(bundle: Path) -> None:
    """``recommend --explain`` and ``--rate`` (the torch-free lookup) answer as the model:
    reasons weighted by the customer's quantities, a visitor by the exact ALS solve."""
    model = el.load(str(bundle))
    doc = _json("recommend", bundle, "--user", "gar-customer-01", "--n", "3", "--explain")
    expected = model.recommend("gar-customer-01", 3, explain=True)
    assert [r["because"] for r in doc["items"]] == expected["because"].tolist()
    assert all(r["because"] for r in doc["items"])
    doc = _json("recommend", bundle, "--rate", "kitchen-a", "--rate", "kitchen-b=3", "--n", "3")
    expected = model.recommend_for_ratings({"kitchen-a": 1.0, "kitchen-b": 3.0}, 3)
    assert [r["item"] for r in doc["items"]] == expected["item"].tolist()
    np.testing.assert_allclose(
        [r["score"] for r in doc["items"]], expected["score"], rtol=1e-4, atol=1e-6
    )


def test_lookup_commands_of_an_implicit_bundle_import_no_torch(bundle: Path) -> None:
    for args in (
        ["similar", str(bundle), "garden-a", "--topn", "3"],
        ["recommend", str(bundle), "--user", "gar-customer-01", "--json"],
        ["recommend", str(bundle), "--rate", "garden-a", "--rate", "garden-b=2"],
        ["info", str(bundle)],
    ):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "embedlab", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        imported = {
            line.rsplit("|", 1)[-1].strip().split(".")[0]
            for line in proc.stderr.splitlines()
            if line.startswith("import time:")
        }
        assert proc.returncode == 0, (args, proc.stderr[-2000:])
        assert "embedlab" in imported and not imported & {"torch", "numba"}, args


# ------------------------------------------------------------------ bad input
@pytest.fixture(scope="module")
def bad_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    tables = {
        "rated": "user,item,rating\nann,tea,5\nann,jam,1\nbob,tea,3\n",
        "stars": "user,item,stars\nann,tea,5\nbob,jam,2\n",
        "negative": "user,item,plays\nann,tea,2\nann,jam,-1\nbob,tea,3\n",
        "zeros": "user,item,plays\nann,tea,0\nbob,jam,0\n",
    }
    out = {}
    for name, text in tables.items():
        out[name] = folder / f"{name}.csv"
        out[name].write_text(text)
    out["movielens"] = write_files(folder / "ml-100k", tiny_ml100k_files())
    return out


def _train(path: Path, *args: str, out: Path) -> object:
    return _run("train", path, "--out", out, "--layout", "none", *args)


def test_a_rating_column_with_implicit_feedback(
    bad_tables: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "x"
    _one_line_error(
        _train(bad_tables["rated"], "--feedback", "implicit", out=out),
        "column 'rating' looks like explicit ratings",
        "--weight rating to use it as weights",
        "--weight off to ignore it",
        "--positive-threshold T",
    )
    _one_line_error(
        _train(bad_tables["stars"], "--feedback", "implicit", "--rating", "stars", out=out),
        "--rating stars: implicit feedback has no rating column; drop --rating",
        "pass --weight stars",
    )
    _one_line_error(
        _train(bad_tables["rated"], "--feedback", "implicit", "--rating-scale", "1,5", out=out),
        "--rating-scale: implicit feedback has no rating scale",
    )
    assert not out.exists()
    # the fixes it names work
    for fix in (["--weight", "rating"], ["--weight", "off"], ["--positive-threshold", "3"]):
        result = _train(bad_tables["rated"], "--feedback", "implicit", *fix, "-q", out=out)
        assert result.exit_code == 0, (fix, result.output)


def test_bad_weights(bad_tables: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "x"
    _one_line_error(
        _train(bad_tables["negative"], "--feedback", "implicit", "--weight", "plays", out=out),
        "column 'plays' has 1 negative weights",
        "expected weights >= 0",
    )
    _one_line_error(
        _train(bad_tables["zeros"], "--feedback", "implicit", "--weight", "plays", out=out),
        "every weight in column 'plays' is 0",
    )
    _one_line_error(
        _train(bad_tables["negative"], "--feedback", "implicit", "--weight", "qty", out=out),
        "no column 'qty' for --weight",
        "columns present: ['user', 'item', 'plays']",
        "pass --weight one of those names",
    )
    assert not out.exists()


def test_no_positive_after_the_threshold(bad_tables: dict[str, Path], tmp_path: Path) -> None:
    _one_line_error(
        _train(
            bad_tables["rated"], "--feedback", "implicit", "--positive-threshold", "6",
            out=tmp_path / "x",
        ),
        "--positive-threshold 6: no rating of 'rated' reaches the threshold",
        "(ratings span 1..5); pass a lower --positive-threshold",
    )  # fmt: skip
    _one_line_error(
        _train(
            bad_tables["rated"], "--feedback", "implicit", "--positive-threshold", "nan",
            out=tmp_path / "x",
        ),
        "--positive-threshold nan: expected a finite number",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "parts"),
    [
        (
            ["--weight", "plays"],
            ["--weight: applies to implicit feedback; add --feedback implicit"],
        ),
        (["--positive-threshold", "4"], ["--positive-threshold: applies to implicit feedback"]),
        (
            ["--feedback", "clicks"],
            ["--feedback 'clicks': expected explicit (ratings) or implicit"],
        ),
        (
            ["--feedback", "implicit", "--weight", "plays", "--model", "mf"],
            ["--model mf: --feedback implicit trains ImplicitMatrixFactorization"],
        ),
        (
            ["--feedback", "implicit", "--weight", "plays", "--validation-split", "0.1"],
            ["--validation-split 0.1: does not apply to --feedback implicit"],
        ),
        (
            ["--feedback", "implicit", "--weight", "plays", "--hidden", "4"],
            ["--feedback implicit: --hidden does not apply; its options are --embedding-dim"],
        ),
        (
            ["--feedback", "implicit", "--weight", "plays", "--duplicates", "warn"],
            ["--duplicates warn: implicit feedback aggregates repeated", "sum, max, mean"],
        ),
        (
            ["--feedback", "implicit", "--weight", "plays", "--checkpoint-dir", "ck"],
            ["--checkpoint-dir: ImplicitMatrixFactorization does not write checkpoints"],
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0].startswith("--") else None,
)
def test_bad_options_are_one_line(
    bad_tables: dict[str, Path], tmp_path: Path, args: list[str], parts: list[str]
) -> None:
    table = tmp_path / "plays.csv"
    table.write_text("user,item,plays\nann,tea,2\nbob,jam,1\n")
    out = tmp_path / "x"
    _one_line_error(_train(table, *args, out=out), *parts)
    assert not out.exists()


def test_movielens_needs_a_threshold(bad_tables: dict[str, Path], tmp_path: Path) -> None:
    folder = bad_tables["movielens"]
    for path in (folder, folder / "u1.base"):
        _one_line_error(
            _train(path, "--feedback", "implicit", out=tmp_path / "x"),
            "MovieLens holds ratings, not implicit feedback; pass --positive-threshold 4",
        )
    result = _train(folder, "--feedback", "implicit", "--positive-threshold", "4", "--epochs",
                    "2", "-q", out=tmp_path / "ml")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert bundle_info(tmp_path / "ml")["config"]["data"]["n_ratings"] == 2  # ratings 5 and 4


def test_bad_evaluate_options(files: dict[str, Path], bundle: Path) -> None:
    test = files["test"]
    for args, parts in (
        (["--protocol", "kfold"], ["--protocol kfold: expected user, repeated-user or"]),
        (["--metrics", "ndcg@10,rmse"], ["'rmse' is not a ranking metric", "NAME@K"]),
        (["--metrics", "ndcg@0"], ["'ndcg@0' is not a ranking metric"]),
        (["--seeds", "0", "--test-size", "0.2"], ["--test-size and --seeds: apply to --protocol"]),
        (["--protocol", "user", "--seeds", "a"], ["--seeds a: expected distinct integers"]),
        (["--fallback"], ["--fallback: applies to models of ratings"]),
        (
            ["--weight", "quantity", "--positive-threshold", "9"],
            [
                "--positive-threshold 9: no weight of 'test' reaches the threshold (weights span 1..6)"
            ],
        ),
        (
            ["--positive-threshold", "2"],
            ["no rating column found", "or, with --weight COLUMN, weight) reaches it"],
        ),
    ):
        _one_line_error(_run("evaluate", bundle, "--data", test, *COLUMNS, *args), *parts)


# ------------------------------------------------------------------ MovieLens 100K positives
@pytest.mark.realdata
@pytest.mark.slow
def test_ml100k_positives(ml100k_dir: Path, tmp_path: Path) -> None:
    """Positives = ratings >= 4, 20 % of each user's held out (seed 0): the default ALS
    beats most-popular (NDCG@10 0.158, Recall@20 0.201 on this split) by far."""
    out = tmp_path / "ml"
    result = _run(
        "train", ml100k_dir, "--feedback", "implicit", "--positive-threshold", "4",
        "--random-state", "0", "--layout", "none", "--out", out, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 of 943 users and 235 of 1,682 items have no rating >= 4" in result.stderr
    assert bundle_info(out)["config"]["data"]["n_ratings"] == 55_375
    doc = _json("similar", out, "Star Wars", "--topn", "3")
    assert doc["neighbours"][0]["label"] == "Return of the Jedi (1983)"
    scores = _json(
        "evaluate", out, "--data", ml100k_dir, "--positive-threshold", "4",
        "--protocol", "user", "--test-size", "0.2", "--seeds", "0",
    )  # fmt: skip
    assert scores["ndcg@10"] > 0.30 and scores["recall@20"] > 0.36, scores
    assert scores["popularity@10"] < 0.99 and scores["coverage@10"] > 0.1
