"""`embedlab serve`: binds 127.0.0.1 by default, one-line errors (uvicorn.run replaced);
bundles and vectors files (word2vec, Projector, Parquet, .npz) with a metadata table."""

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

import embedlab as el
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
    assert "settings: path=" in loud.stderr and "model loaded in" in loud.stderr


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


# ---------------------------------------------------------------------- vectors files
@pytest.fixture
def vectors_file(tmp_path) -> tuple[Path, Path]:
    """A word2vec text file of 4 words and a metadata table (one unknown key, one missing)."""
    path = tmp_path / "words.txt"
    path.write_text("4 3\nfox 1 0 0\ndog 0.9 0.1 0\nowl 0 1 0\nemu 0 0 1\n")
    meta = tmp_path / "words.csv"
    meta.write_text("word,title,genres,count\nfox,The Fox,Wild|Red,10\ndog,A Dog,Pet,30\n")
    meta.write_text(meta.read_text() + "yak,Yak,Wild,1\nowl,An Owl,Wild|Bird,20\n")
    return path, meta


def _info(web_app: Any) -> dict[str, Any]:
    """GET /api/info in-process (httpx ASGITransport)."""
    import asyncio

    import httpx

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=web_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/api/info")

    answer = asyncio.run(go())
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_serve_a_vectors_file_with_metadata(vectors_file, runs) -> None:
    path, meta = vectors_file
    result = runner.invoke(app, ["serve", str(path), "--metadata", str(meta), "--map", "pca"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8000/" in result.stdout
    info = _info(runs[1]["app"])
    assert info["has_model"] is False and info["n_items"] == 4 and info["n_users"] == 0
    assert info["source"] == "words.txt" and info["model_class"] == "KeyedEmbeddings"


def test_serve_a_projector_folder_and_a_parquet_file(tmp_path, runs) -> None:
    kv = el.KeyedEmbeddings([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], ["a", "b", "c"])
    for path in (kv.to_projector(tmp_path / "proj"), kv.to_parquet(tmp_path / "v.parquet")):
        result = runner.invoke(app, ["serve", str(path), "--map", "pca"])
        assert result.exit_code == 0, result.output
        info = _info(runs[-1]["app"])
        assert info["has_model"] is False and info["n_items"] == 3


def test_serve_workers_pass_the_vectors_settings(vectors_file, runs, monkeypatch) -> None:
    from embedlab.web._app import SERVE_CONFIG_ENV

    monkeypatch.delenv(SERVE_CONFIG_ENV, raising=False)
    path, meta = vectors_file
    args = ["serve", str(path), "--metadata", str(meta), "--key-column", "word"]
    result = runner.invoke(app, [*args, "--workers", "2", "--map", "pca"])
    assert result.exit_code == 0, result.output
    (call,) = runs
    assert call["app"] == "embedlab.web:app_from_env" and call["workers"] == 2
    config = json.loads(os.environ[SERVE_CONFIG_ENV])
    assert config["vectors"] == {
        "path": str(path.resolve()),
        "metadata": str(meta.resolve()),
        "key_column": "word",
    }
    assert config["map_method"] == "pca" and config["source_name"] == "words.txt"
    monkeypatch.delenv(SERVE_CONFIG_ENV)


def _one_line_error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    return result.stderr


def test_serve_missing_path_names_both_kinds(tmp_path, runs) -> None:
    err = _one_line_error(runner.invoke(app, ["serve", str(tmp_path / "nope.txt")]))
    assert "nope.txt" in err and "model bundle" in err and "word2vec" in err and not runs


def test_serve_metadata_with_a_bundle_is_an_error(web_bundle, vectors_file, runs) -> None:
    args = ["serve", str(web_bundle[0]), "--metadata", str(vectors_file[1])]
    err = _one_line_error(runner.invoke(app, args))
    assert "--metadata applies to a vectors file" in err and "model bundle" in err and not runs
    err = _one_line_error(runner.invoke(app, ["serve", str(web_bundle[0]), "--key-column", "x"]))
    assert "--key-column applies to a vectors file" in err


def test_serve_unknown_extension_lists_the_formats(tmp_path, runs) -> None:
    path = tmp_path / "vectors.xyz"
    path.write_text("1 2\nk 1 2\n")
    err = _one_line_error(runner.invoke(app, ["serve", str(path)]))
    assert "vectors.xyz" in err and ".txt" in err and ".npz" in err and "fmt=" not in err


def test_serve_malformed_file_and_bad_key_column(vectors_file, tmp_path, runs) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("2 3\nfox 1 0 0\ndog 1 0\n")
    err = _one_line_error(runner.invoke(app, ["serve", str(bad)]))
    assert "bad.txt: line 3 has 2 numbers" in err
    path, meta = vectors_file
    args = ["serve", str(path), "--metadata", str(meta), "--key-column", "nope"]
    err = _one_line_error(runner.invoke(app, args))
    assert "--key-column 'nope'" in err and "'word'" in err and not runs


def test_serve_missing_metadata_file_says_which_option(vectors_file, tmp_path, runs) -> None:
    args = ["serve", str(vectors_file[0]), "--metadata", str(tmp_path / "none.csv")]
    err = _one_line_error(runner.invoke(app, args))
    assert "--metadata" in err and "none.csv" in err and "not found" in err and not runs


def test_serve_folder_that_is_neither(tmp_path, runs) -> None:
    err = _one_line_error(runner.invoke(app, ["serve", str(tmp_path)]))
    assert "model.json" in err and "vectors.tsv" in err


def test_serve_umap_needs_umap_learn(vectors_file, runs) -> None:
    import importlib.util

    if importlib.util.find_spec("umap") is not None:
        pytest.skip("umap-learn is installed here: --map umap is valid")
    err = _one_line_error(runner.invoke(app, ["serve", str(vectors_file[0]), "--map", "umap"]))
    assert "pip install umap-learn" in err and not runs


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_a_word2vec_file_in_a_real_process(vectors_file, workers) -> None:
    """With --workers 2 each worker opens the file from $EMBEDLAB_SERVE_CONFIG's "vectors"."""
    import httpx

    path, meta = vectors_file
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "embedlab", "serve", str(path), "--port", str(port)]
    args = ["--metadata", str(meta), "--map", "pca", "--workers", str(workers), "-q"]
    proc = subprocess.Popen([*cmd, *args])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "the server exited"
            try:
                info = httpx.get(url + "/api/info", timeout=1)
                if info.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "no answer within 60 s"
            time.sleep(0.2)
        doc = info.json()
        assert doc["has_model"] is False and doc["n_items"] == 4 and doc["source"] == "words.txt"
        assert doc["has_titles"] is True  # the metadata table reached every worker
        near = httpx.get(f"{url}/api/items/fox/neighbours", params={"k": 1}, timeout=10)
        assert near.status_code == 200, near.text
        assert near.json()["neighbours"][0]["key"] == "dog"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
