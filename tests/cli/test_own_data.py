"""Issue 17's acceptance test: one's own table, from the command line only.

Planted data with string IDs: customers ``c001``..., products in three clusters
(chocolate, tea, wine); each customer likes one cluster (high scores there, low
elsewhere, plus noise). A side table ``products.csv`` gives each product a name, its
category (the cluster) and a price. ``train`` → ``similar`` → ``map`` → ``recommend``
for a visitor must bring the clusters back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from embedlab.cli import app

runner = CliRunner()

CLUSTERS = ("chocolate", "tea", "wine")
PER_CLUSTER = 12
COLUMNS = ["--user", "customer_id", "--item", "product_code", "--rating", "score"]
SIDE = ["--items", "products.csv", "--item-key", "id", "--item-label", "name"]
#: The model's defaults, as a new user would train.
TRAINING = ["--random-state", "0", "-q"]


def _products() -> list[tuple[str, str, str, float]]:
    """``(id, name, category, price)``, e.g. ``("p-chocolate-01", "Chocolate no. 1", ...)``."""
    rows = []
    for c, cluster in enumerate(CLUSTERS):
        for k in range(1, PER_CLUSTER + 1):
            code = f"p-{cluster}-{k:02d}"
            rows.append((code, f"{cluster.title()} no. {k}", cluster, 2.0 + c + k / 10))
    return rows


def write_planted(folder: Path, *, sep: str = ",", encoding: str = "utf-8") -> Path:
    """``ratings.csv`` (~3,000 rows) and ``products.csv`` in ``folder``; the ratings path.

    With ``encoding="latin-1"`` the customer IDs carry an accent (``cliënt-001``), so
    the file cannot be read as UTF-8.
    """
    rng = np.random.default_rng(17)
    products = _products()
    prefix = "cliënt-" if encoding == "latin-1" else "c"
    lines = [sep.join(["customer_id", "product_code", "score"])]
    for u in range(150):
        liked = CLUSTERS[u % 3]
        for p in rng.choice(len(products), size=20, replace=False):
            code, _, cluster, _ = products[p]
            mean = 4.6 if cluster == liked else 1.6
            score = int(np.clip(round(mean + rng.normal(0, 0.5)), 1, 5))
            lines.append(sep.join([f"{prefix}{u + 1:03d}", code, str(score)]))
    ratings = folder / "ratings.csv"
    ratings.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    side = ["id,name,category,price"] + [f"{c},{n},{k},{p:.2f}" for c, n, k, p in products]
    (folder / "products.csv").write_text("\n".join(side) + "\n", encoding="utf-8")
    return ratings


def _cluster(item: str) -> str:
    return item.split("-")[1]


def _invoke(folder: Path, *args: str):
    """Run ``embedlab ARGS`` in ``folder`` (relative paths, as a user would type them)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("own")
    write_planted(folder)
    result = _invoke(folder, "train", "ratings.csv", *COLUMNS, *SIDE, "--out", "m", *TRAINING)
    assert result.exit_code == 0, result.output
    return folder


def test_similar_returns_the_same_cluster(trained: Path) -> None:
    result = _invoke(trained, "similar", "m", "Chocolate no. 3", "--topn", "5", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["query"] == "p-chocolate-03" and doc["label"] == "Chocolate no. 3"
    top = [n["item"] for n in doc["neighbours"]]
    assert sum(_cluster(i) == "chocolate" for i in top) >= 4, top
    # labels come from the side table; a partial name and an exact ID work too
    assert all(n["label"].startswith("Chocolate") for n in doc["neighbours"][:1])
    for query in ("chocolate no. 3", "p-chocolate-03"):
        again = _invoke(trained, "similar", "m", query, "--topn", "5", "--json")
        assert again.exit_code == 0, again.output
        assert [n["item"] for n in json.loads(again.stdout)["neighbours"]] == top


def test_map_coloured_by_a_side_table_column(trained: Path) -> None:
    result = _invoke(
        trained, "map", "m", "--color", "category", "--method", "pca", "--out", "map.png"
    )
    assert result.exit_code == 0, result.output
    assert (trained / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_held_out_check_keeps_the_factors(trained: Path) -> None:
    # the clusters are a strong signal: the factors clearly beat the biases-only model
    result = _invoke(trained, "info", "m", "--json")
    assert result.exit_code == 0, result.output
    adaptive = json.loads(result.stdout)["adaptive"]
    assert adaptive["factors_used"] is True
    assert adaptive["factors_rmse"] < adaptive["biases_rmse"] - 0.2
    text = _invoke(trained, "info", "m")
    assert "held-out check" in text.stdout and "predicts with factors" in text.stdout


def test_projector_export_carries_the_side_table(trained: Path) -> None:
    result = _invoke(trained, "export", "m", "--format", "projector", "--out", "proj")
    assert result.exit_code == 0, result.output
    header, *rows = (trained / "proj" / "metadata.tsv").read_text().splitlines()
    assert header.split("\t") == ["key", "label", "category", "price", "n_ratings"]
    assert len(rows) == len(CLUSTERS) * PER_CLUSTER
    first = dict(zip(header.split("\t"), rows[0].split("\t"), strict=True))
    assert first["label"] == f"{first['category'].title()} no. {int(first['key'][-2:])}"


def test_recommend_for_a_visitor_favours_the_liked_cluster(trained: Path) -> None:
    rates = ["--rate", "p-chocolate-01=5", "--rate", "Chocolate no. 2=5", "--rate", "p-tea-01=1"]
    result = _invoke(trained, "recommend", "m", *rates, "--n", "5", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    top = [r["item"] for r in doc["items"]]
    assert sum(_cluster(i) == "chocolate" for i in top) >= 4, top
    assert not {"p-chocolate-01", "p-chocolate-02", "p-tea-01"} & set(top)  # rated: left out
    assert doc["score"] == "predicted rating"
    assert all(1 <= r["score"] <= 5 for r in doc["items"])  # clipped to the training scale
    # the table says what the score is
    text = _invoke(trained, "recommend", "m", *rates, "--n", "3")
    assert text.exit_code == 0, text.output
    header, *rows = text.stdout.strip().splitlines()
    assert "predicted rating" in header and len(rows) == 3


def test_recommend_for_a_training_customer(trained: Path) -> None:
    # c001 likes chocolate (customer u likes CLUSTERS[u % 3], c001 is u = 0)
    result = _invoke(trained, "recommend", "m", "--user", "c001", "--n", "3", "--json")
    assert result.exit_code == 0, result.output
    top = [r["item"] for r in json.loads(result.stdout)["items"]]
    assert sum(_cluster(i) == "chocolate" for i in top) >= 2, top


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "p-nothing-99=5"], "--rate 'p-nothing-99=5'"),
        (["--rate", "p-tea-01"], "expected ITEM=RATING"),
        (["--rate", "p-tea-01=lots"], "expected ITEM=RATING"),
        (["--rate", "p-tea-01=5", "--rate", "Tea no. 1=4"], "rated twice"),
        (["--rate", "p-tea-01=5", "--user", "c001"], "exclude each other"),
        ([], "pass --user ID"),
        (["--user", "nobody"], "--rate ITEM=RATING"),
    ],
)
def test_recommend_errors_are_one_line(trained: Path, args: list[str], message: str) -> None:
    result = _invoke(trained, "recommend", "m", *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0], lines[0]


def test_latin1_semicolon_variant(tmp_path: Path) -> None:
    """The same table written in latin-1 with ``;``: trained through ``--sep``/``--encoding``.

    (tests/cli/test_load_options.py covers the flags on every reader; this checks the
    clusters survive the round trip, accented IDs included.)
    """
    write_planted(tmp_path, sep=";", encoding="latin-1")
    table = ["--sep", ";", "--encoding", "latin-1"]
    args = ["train", "ratings.csv", *COLUMNS, *table, *SIDE, "--out", "m", *TRAINING]
    result = _invoke(tmp_path, *args)
    assert result.exit_code == 0, result.output
    similar = _invoke(tmp_path, "similar", "m", "Wine no. 4", "--topn", "5", "--json")
    assert similar.exit_code == 0, similar.output
    top = [n["item"] for n in json.loads(similar.stdout)["neighbours"]]
    assert sum(_cluster(i) == "wine" for i in top) >= 4, top
    mine = _invoke(tmp_path, "recommend", "m", "--user", "cliënt-003", "--n", "3", "--json")
    assert mine.exit_code == 0, mine.output
    assert json.loads(mine.stdout)["user"] == "cliënt-003"


def test_a_table_without_structure_falls_back_in_one_warning_line(tmp_path: Path) -> None:
    """Scores that are customer and product effects plus noise: the factors cannot help,
    so ``train`` predicts with the biases only and says so, with the CLI's flag."""
    import subprocess
    import sys

    rng = np.random.default_rng(3)
    users, items = rng.normal(0, 0.5, 300), rng.normal(0, 0.5, 80)
    lines = ["customer_id,product_code,score"]
    for u in range(300):
        for i in rng.choice(80, size=25, replace=False):
            score = np.clip(round(3 + users[u] + items[i] + rng.normal(0, 0.8)), 1, 5)
            lines.append(f"c{u:03d},p{i:02d},{int(score)}")
    (tmp_path / "flat.csv").write_text("\n".join(lines) + "\n")
    base = [sys.executable, "-m", "embedlab", "train", "flat.csv", *COLUMNS, "-q"]
    done = subprocess.run(
        [*base, "--out", "m", "--random-state", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("warning: the factors do not beat the biases-only model"), line
    assert "--no-fallback" in line and "fallback=False" not in line
    info = _invoke(tmp_path, "info", "m", "--json")
    assert json.loads(info.stdout)["adaptive"]["factors_used"] is False
    kept = subprocess.run(
        [*base, "--out", "m2", "--random-state", "0", "--no-fallback"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert kept.returncode == 0 and kept.stderr == "", kept.stderr
