"""``embedlab data fetch`` and ``embedlab data list`` with typer's CliRunner."""

from __future__ import annotations

import dataclasses
import http.server
import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from embedlab.cli import app
from embedlab.data._download import _BY_NAME, MARKER, get_release

runner = CliRunner()

U_DATA = b"1\t1\t5\t874965758\n1\t2\t3\t876893171\n2\t1\t4\t888550871\n"
TINY = dataclasses.replace(get_release("ml-100k"), n_ratings=3, md5=None, sha256=None)


def tiny_files() -> dict[str, bytes]:
    files = {name: b"x\n" for name in TINY.files}
    files["u.data"] = U_DATA
    return files


def tiny_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in tiny_files().items():
            zf.writestr(f"ml-100k/{name}", content)
    return buf.getvalue()


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        if self.path != "/ml-100k.zip":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def base_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local server for a tiny ml-100k (the registry entry is swapped for its size)."""
    monkeypatch.setitem(_BY_NAME, "ml-100k", TINY)
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), type("H", (_Handler,), {"body": tiny_zip()})
    )
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.network
def test_fetch_prints_the_folder(base_url: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["data", "fetch", "ml-100k", "--cache-dir", str(tmp_path), "--url", base_url, "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "ml-100k")
    assert (tmp_path / "ml-100k" / "u.data").read_bytes() == U_DATA
    assert (tmp_path / "ml-100k" / MARKER).is_file()
    assert result.stderr == ""


@pytest.mark.network
def test_fetch_shows_progress_on_stderr_only(base_url: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["data", "fetch", "ml-100k", "--cache-dir", str(tmp_path), "--url", base_url]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "ml-100k")  # stdout stays machine-readable
    assert "ml-100k.zip" in result.stderr


@pytest.mark.network
def test_fetch_uses_embedlab_cache_and_force(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path))
    first = runner.invoke(app, ["data", "fetch", "ml-100k", "--url", base_url, "-q"])
    again = runner.invoke(app, ["data", "fetch", "ml-100k", "--url", base_url, "-q", "--force"])
    assert first.exit_code == again.exit_code == 0
    assert first.stdout == again.stdout == f"{tmp_path / 'ml-100k'}\n"


@pytest.mark.network
def test_fetch_refused_is_one_line_exit_2(tmp_path: Path) -> None:
    base = refused_url()
    result = runner.invoke(
        app,
        [
            "data",
            "fetch",
            "ml-100k",
            "--cache-dir",
            str(tmp_path),
            "--url",
            base,
            "--quiet",
            "--timeout",
            "5",
        ],
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f"error: could not download ml-100k from {base}/ml-100k.zip (connection refused)"
    )
    assert "--data PATH" in lines[0] and "EMBEDLAB_DATA" in lines[0]
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.network
def test_fetch_404_exit_2(base_url: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "data",
            "fetch",
            "ml-100k",
            "--cache-dir",
            str(tmp_path),
            "--url",
            base_url + "/nope",
            "-q",
        ],
    )
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
