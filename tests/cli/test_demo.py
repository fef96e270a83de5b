"""``embedlab demo``: real data, the synthetic fallback, a download, and user errors."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from embedlab.cli import app

runner = CliRunner()

FILES = ("model", "map.html", "map.png", "curves_mf.png", "curves_neural.png", "DATA.txt")


def _check_outputs(out: Path) -> None:
    for name in FILES:
        assert (out / name).exists(), name
    assert (out / "model" / "model.json").exists()
    assert (out / "map.png").stat().st_size > 10_000


@pytest.mark.realdata
def test_demo_on_ml100k(ml100k_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--data", str(ml100k_dir), "--out", str(out), "--quick"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "SYNTHETIC" not in text
    for piece in ("global mean", "item mean", "matrix factorization", "neural model",
                  "Nearest neighbours of Star Wars (1977)", "Top 10 for user 196",
                  "because you liked", "obscure", "embedlab serve"):  # fmt: skip
        assert piece in text, piece
    _check_outputs(out)
    assert "MovieLens 100K" in (out / "DATA.txt").read_text()


def test_demo_offline_runs_on_synthetic_data(refused_url: str, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--quick", "--base-url", refused_url]
    result = runner.invoke(app, args, env={"COLUMNS": "500"})  # no wrapped lines
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    notice = [line for line in lines if "could not be downloaded" in line]
    assert len(notice) == 1 and "SYNTHETIC" in notice[0]
    assert "(SYNTHETIC DATA)" in result.output
    _check_outputs(out)
    assert "SYNTHETIC" in (out / "DATA.txt").read_text()
    # the suggested commands work on the synthetic catalogue (no "Star Wars" there)
    similar = [line.strip() for line in lines if line.strip().startswith("embedlab similar ")]
    assert len(similar) == 1 and "Star Wars" not in similar[0]
    again = runner.invoke(app, shlex.split(similar[0])[1:])
    assert again.exit_code == 0, again.output


def test_demo_downloads_when_nothing_is_on_disk(movielens_url: str, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(
        app, ["demo", "--out", str(out), "--quick", "-q", "--json", "--base-url", movielens_url]
    )
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" not in result.output
    assert result.stderr == ""  # quiet: no progress lines
    doc = json.loads(result.stdout)
    assert doc["synthetic"] is False
    assert {row["model"] for row in doc["scores"]} >= {"global mean", "item mean"}
    assert doc["neighbours"] and all(rows for rows in doc["neighbours"].values())
    assert doc["recommendations"][0]["rank"] == 1 and doc["obscurity"]
    assert {name: Path(path).exists() for name, path in doc["files"].items()} == dict.fromkeys(
        doc["files"], True
    )
    _check_outputs(out)


def test_demo_with_a_wrong_data_path_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "does not hold ml-100k" in result.output


def test_demo_help_in_a_real_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "embedlab", "demo", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0
    assert "Example: embedlab demo" in proc.stdout


def _table_args(ratings: Path) -> list[str]:
    """``demo --data`` on the planted latin-1, semicolon-separated table, with its columns."""
    columns = ["--user", "customer_id", "--item", "product_code", "--rating", "score"]
    return ["demo", "--data", str(ratings), *columns, "--sep", ";", "--encoding", "latin-1"]


def test_demo_on_a_table_of_ones_own(tmp_path: Path) -> None:
    """``--data FILE`` with the table options: the demo's path on any ratings table."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_own_data import write_planted

    ratings = write_planted(tmp_path, sep=";", encoding="latin-1")
    result = runner.invoke(
        app,
        [*_table_args(ratings), "--out", str(tmp_path / "demo"), "--quick", "--json"],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["synthetic"] is False and doc["data"] == "ratings.csv"
    _check_outputs(tmp_path / "demo")
    # neighbours of the three most rated products come from their own cluster
    assert len(doc["neighbours"]) == 3
    for item, rows in doc["neighbours"].items():
        cluster = item.split("-")[1]
        top = [r["key"] for r in rows[:5]]
        assert sum(k.split("-")[1] == cluster for k in top) >= 4, (item, top)
    # the text output names items by ID when the table has no labels
    text = runner.invoke(
        app,
        [*_table_args(ratings), "--out", str(tmp_path / "demo2"), "--quick"],
    )
    assert text.exit_code == 0, text.output
    assert "None" not in text.stdout and "p-" in text.stdout


def test_demo_table_options_need_a_table(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--user", "customer_id", "--out", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "--user" in result.output and "--data FILE" in result.output
