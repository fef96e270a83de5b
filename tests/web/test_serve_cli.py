"""`embedlab serve`: binds 127.0.0.1 by default, one-line errors (uvicorn.run replaced)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from embedlab.cli import app

runner = CliRunner()


@pytest.fixture
def runs(monkeypatch) -> list[dict[str, Any]]:
    """uvicorn.run and limit_threads recorded instead of run (threads stay as they are)."""
    import uvicorn

    import embedlab.web

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    monkeypatch.setattr(embedlab.web, "limit_threads", lambda n: calls.append({"limit_threads": n}))
    return calls


def test_serve_defaults_to_localhost(web_bundle, runs) -> None:
    result = runner.invoke(app, ["serve", str(web_bundle[0])])
    assert result.exit_code == 0, result.output
    assert runs[0] == {"limit_threads": 1}
    assert len(runs) == 2 and runs[1]["host"] == "127.0.0.1" and runs[1]["port"] == 8000
    assert runs[1]["app"].state.explorer.map_method == "tsne"
    assert "http://127.0.0.1:8000/" in result.stdout


def test_serve_options(web_bundle, runs) -> None:
    args = ["serve", str(web_bundle[0]), "--host", "0.0.0.0", "--port", "9123", "--map", "pca"]
    result = runner.invoke(app, [*args, "--cors-origin", "http://a.example", "--threads", "2"])
    assert result.exit_code == 0, result.output
    assert runs[0] == {"limit_threads": 2}
    assert runs[1]["host"] == "0.0.0.0" and runs[1]["port"] == 9123
    assert runs[1]["app"].state.explorer.map_method == "pca"
    assert "warning: listening on 0.0.0.0" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["--port", "0"], ["--port", "70000"], ["--map", "umap3d"], ["--threads", "0"]],
)
def test_serve_bad_options_are_one_line(web_bundle, runs, args) -> None:
    result = runner.invoke(app, ["serve", str(web_bundle[0]), *args])
    assert result.exit_code == 2 and not runs
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_serve_missing_bundle_is_one_line(tmp_path, runs) -> None:
    result = runner.invoke(app, ["serve", str(tmp_path / "nope")])
    assert result.exit_code == 2 and not runs
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_serve_is_listed_in_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert "serve" in result.stdout


def test_serve_quiet_and_verbose(web_bundle, runs) -> None:
    quiet = runner.invoke(app, ["serve", str(web_bundle[0]), "-q"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout == "" and runs[-1]["log_level"] == "error"
    loud = runner.invoke(app, ["serve", str(web_bundle[0]), "--verbose"])
    assert loud.exit_code == 0, loud.output
    assert "http://127.0.0.1:8000/" in loud.stdout and runs[-1]["log_level"] == "info"
    assert "settings: model_dir=" in loud.stderr and "model loaded in" in loud.stderr


def test_serve_help_says_why_there_is_no_json() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "There is no --json" in result.stdout
