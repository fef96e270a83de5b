"""`embedlab serve`: binds 127.0.0.1 by default, one-line errors (uvicorn.run replaced)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
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
    monkeypatch.setattr(
        embedlab.web, "limit_threads", lambda n_threads: calls.append({"limit_threads": n_threads})
    )
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


def test_serve_workers_hand_uvicorn_a_factory_and_the_settings(
    web_bundle, runs, monkeypatch
) -> None:
    from embedlab.web._app import SERVE_CONFIG_ENV

    monkeypatch.delenv(SERVE_CONFIG_ENV, raising=False)
    args = ["serve", str(web_bundle[0]), "--workers", "2", "--map", "pca", "--threads", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (call,) = runs  # threads are limited in each worker, not here
    assert call["app"] == "embedlab.web:app_from_env" and call["factory"] is True
    assert call["workers"] == 2 and call["host"] == "127.0.0.1"
    config = json.loads(os.environ[SERVE_CONFIG_ENV])
    assert config["map_method"] == "pca" and config["n_threads"] == 1
    assert Path(config["source"]) == Path(web_bundle[0]).resolve()
    monkeypatch.delenv(SERVE_CONFIG_ENV)


def test_serve_zero_workers_is_one_line(web_bundle, runs) -> None:
    result = runner.invoke(app, ["serve", str(web_bundle[0]), "--workers", "0"])
    assert result.exit_code == 2 and not runs
    assert "--workers 0: expected an integer >= 1" in result.stderr


@pytest.mark.slow
def test_two_worker_processes_answer_on_one_port(web_bundle) -> None:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "embedlab", "serve", str(web_bundle[0]), "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--workers", "2", "--map", "pca", "-q"])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "the server exited"
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "no answer within 120 s"
            time.sleep(0.2)
        item = web_bundle[1].items_.ids()[0]
        answers = [
            httpx.get(f"{url}/api/items/{item}/neighbours", params={"k": 5}, timeout=10)
            for _ in range(10)
        ]
        assert all(a.status_code == 200 for a in answers)
        assert len({a.text for a in answers}) == 1  # every worker gives the same answer
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert len([w for w in workers if "python" in w.name().lower()]) >= 2
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
