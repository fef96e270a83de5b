"""``embedlab data fetch`` and ``embedlab data list`` with typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from embedlab.cli import app
from embedlab.data._download import MARKER, get_release
from movielens_files import tiny_ml100k_files

runner = CliRunner()


def fetch(cache_dir: Path, url: str, *options: str) -> Result:
    """``embedlab data fetch ml-100k --cache-dir CACHE_DIR --url URL OPTIONS...``."""
    args = ["data", "fetch", "ml-100k", "--cache-dir", str(cache_dir), "--url", url, *options]
    return runner.invoke(app, args)


@pytest.mark.network
def test_fetch_prints_the_folder(movielens_url: str, tmp_path: Path) -> None:
    result = fetch(tmp_path, movielens_url, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "ml-100k")
    assert (tmp_path / "ml-100k" / "u.data").read_bytes() == tiny_ml100k_files()["u.data"]
    assert (tmp_path / "ml-100k" / MARKER).is_file()
    assert result.stderr == ""


@pytest.mark.network
def test_fetch_shows_progress_on_stderr_only(movielens_url: str, tmp_path: Path) -> None:
    result = fetch(tmp_path, movielens_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "ml-100k")  # stdout stays machine-readable
    assert "ml-100k.zip" in result.stderr


@pytest.mark.network
def test_fetch_uses_embedlab_cache_and_force(
    movielens_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path))
    first = runner.invoke(app, ["data", "fetch", "ml-100k", "--url", movielens_url, "-q"])
    again = runner.invoke(
        app, ["data", "fetch", "ml-100k", "--url", movielens_url, "-q", "--force"]
    )
    assert first.exit_code == again.exit_code == 0
    assert first.stdout == again.stdout == f"{tmp_path / 'ml-100k'}\n"


@pytest.mark.network
def test_fetch_refused_is_one_line_exit_2(tmp_path: Path, refused_url: str) -> None:
    result = fetch(tmp_path, refused_url, "--quiet", "--timeout", "5")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f"error: could not download ml-100k from {refused_url}/ml-100k.zip (connection refused)"
    )
    assert "--data PATH" in lines[0] and "EMBEDLAB_DATA" in lines[0]
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.network
def test_fetch_404_exit_2(movielens_url: str, tmp_path: Path) -> None:
    result = fetch(tmp_path, movielens_url + "/nope", "-q")
    assert result.exit_code == 2
    assert "HTTP 404" in result.stderr and result.stderr.startswith("error: ")


def test_fetch_unknown_release_exit_2() -> None:
    result = runner.invoke(app, ["data", "fetch", "ml-7k"])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: unknown MovieLens release 'ml-7k'; known releases: ml-100k"
    )


def test_fetch_help_has_an_example() -> None:
    result = runner.invoke(app, ["data", "fetch", "--help"])
    assert result.exit_code == 0
    assert "embedlab data fetch ml-100k" in result.stdout
    for option in ("--cache-dir", "--force", "--url", "--quiet"):
        assert option in result.stdout


def test_list_help_has_an_example() -> None:
    result = runner.invoke(app, ["data", "list", "--help"])
    assert result.exit_code == 0
    assert "embedlab data list --json" in result.stdout


def test_list_table() -> None:
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0, result.output
    for name in ("ml-100k", "ml-1m", "ml-10m", "ml-32m", "ml-latest-small"):
        assert name in result.stdout
    assert "100,000" in result.stdout


def test_list_json_parses_and_reports_locations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, cache = tmp_path / "env", tmp_path / "cache"
    for parent, release in ((env, "ml-100k"), (cache, "ml-latest-small")):
        folder = parent / release
        folder.mkdir(parents=True)
        (folder / get_release(release).ratings_file).write_bytes(b"1\t1\t5\t1\n")
    monkeypatch.setenv("EMBEDLAB_DATA", str(env))
    monkeypatch.setenv("EMBEDLAB_CACHE", str(cache))
    result = runner.invoke(app, ["data", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert len(rows) == 8
    assert rows["ml-100k"]["available"] == "EMBEDLAB_DATA"
    assert rows["ml-100k"]["path"] == str(env / "ml-100k")
    assert rows["ml-latest-small"]["available"] == "cache"
    assert rows["ml-1m"]["available"] is None and rows["ml-1m"]["path"] is None
    assert rows["ml-1m"]["n_ratings"] == 1_000_209
    assert rows["ml-1m"]["url"].endswith("/ml-1m.zip")

    table = runner.invoke(app, ["data", "list"], env={"COLUMNS": "200"})
    assert "EMBEDLAB_DATA" in table.stdout and "cache" in table.stdout


def test_list_cache_dir_option(tmp_path: Path) -> None:
    (tmp_path / "ml-1m").mkdir()
    (tmp_path / "ml-1m" / "ratings.dat").write_text("1::1::5::1\n")
    result = runner.invoke(app, ["data", "list", "--json", "--cache-dir", str(tmp_path)])
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["ml-1m"]["available"] == "cache"
