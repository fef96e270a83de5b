"""embedlab.datasets: where MovieLens is found (explicit path, EMBEDLAB_DATA, cache, download)."""

from __future__ import annotations

import dataclasses
import http.server
import io
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import embedlab
import embedlab.data
from embedlab import datasets
from embedlab.data import MovieLensRelease
from embedlab.data._download import _BY_NAME, get_release
from embedlab.exceptions import DataError, DatasetNotFoundError

ROWS = [(1, 1, 5, 874965758), (1, 2, 3, 876893171), (2, 1, 4, 888550871), (2, 3, 1, 880606923)]
GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
          "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]  # fmt: skip


def tiny_files() -> dict[str, bytes]:
    """A tiny ML-100K-shaped folder (formats and encodings as in the real one)."""
    data = "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ROWS).encode()
    flag = "|".join(["0"] * 18)
    items = (
        f"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy|1|{flag}\n"
        f"2|GoldenEye (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Golden|0|{flag}\n"
        f"3|Belle époque (1992)|01-Jan-1992||http://us.imdb.com/M/title-exact?Belle|0|{flag}\n"
    ).encode("latin-1")
    files = {
        "u.data": data,
        "u.item": items,
        "u.user": b"1|24|M|technician|85711\n2|53|F|other|94043\n",
        "u.genre": ("".join(f"{g}|{k}\n" for k, g in enumerate(GENRES)) + "\n").encode(),
        "u.occupation": b"other\ntechnician\n",
        "u.info": b"2 users\n3 items\n4 ratings\n",
    }
    lines = data.splitlines(keepends=True)
    for k in ("1", "2", "3", "4", "5", "a", "b"):
        files[f"u{k}.base"] = b"".join(lines[1:])
        files[f"u{k}.test"] = lines[0]
    return files


def write_release(parent: Path, folder: str = "ml-100k") -> Path:
    target = parent / folder
    target.mkdir(parents=True)
    for name, content in tiny_files().items():
        (target / name).write_bytes(content)
    return target


TINY: MovieLensRelease = dataclasses.replace(
    get_release("ml-100k"), n_ratings=len(ROWS), md5=None, sha256=None
)


# --------------------------------------------------------------------------- registry


def test_releases_is_the_registry() -> None:
    names = [r.name for r in datasets.releases()]
    assert names[0] == "ml-100k" and "ml-latest-small" in names and len(names) == 8
    assert all(isinstance(r, MovieLensRelease) for r in datasets.releases())


def test_datasets_is_exported_at_top_level() -> None:
    assert embedlab.datasets is datasets
    assert "datasets" in embedlab.__all__


# --------------------------------------------------------------------------- find_movielens


def test_find_explicit_release_folder(tmp_path: Path) -> None:
    folder = write_release(tmp_path)
    assert datasets.find_movielens("ml-100k", folder) == folder


def test_find_explicit_parent_folder(tmp_path: Path) -> None:
    folder = write_release(tmp_path)
    assert datasets.find_movielens("ml-100k", tmp_path) == folder
    assert datasets.find_movielens("ml-100k", str(tmp_path)) == folder


def test_find_explicit_folder_with_another_name(tmp_path: Path) -> None:
    folder = write_release(tmp_path, "my-copy")
    assert datasets.find_movielens("ml-100k", folder) == folder


def test_find_folder_named_after_the_release_not_the_zip_folder(tmp_path: Path) -> None:
    files = tmp_path / "ml-10m"
    files.mkdir()
    (files / "ratings.dat").write_text("1::1::5::1\n")
    assert datasets.find_movielens("ml-10m", tmp_path) == files


def test_find_explicit_zip(tmp_path: Path) -> None:
    archive = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ml-100k/u.data", "1\t1\t5\t1\n")
    assert datasets.find_movielens("ml-100k", archive) == archive


def test_find_zip_inside_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ml-100k/u.data", "1\t1\t5\t1\n")
    assert datasets.find_movielens("ml-100k", tmp_path) == archive
    monkeypatch.setenv("EMBEDLAB_DATA", str(tmp_path))
    assert datasets.find_movielens("ml-100k") == archive
    write_release(tmp_path)  # an extracted folder wins over the zip
    assert datasets.find_movielens("ml-100k") == tmp_path / "ml-100k"


def test_explicit_path_is_the_only_place_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_release(tmp_path / "env")
    monkeypatch.setenv("EMBEDLAB_DATA", str(tmp_path / "env"))
    assert datasets.find_movielens("ml-100k", tmp_path / "empty") is None


def test_find_in_embedlab_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_release(tmp_path / "env")
    monkeypatch.setenv("EMBEDLAB_DATA", str(tmp_path / "env"))
    assert datasets.find_movielens("ml-100k") == folder


def test_embedlab_data_comes_before_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = write_release(tmp_path / "env")
    write_release(tmp_path / "cache")
    monkeypatch.setenv("EMBEDLAB_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    assert datasets.find_movielens("ml-100k") == env


def test_find_in_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_release(tmp_path / "cache")
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    assert datasets.find_movielens("ml-100k") == folder


def test_find_in_given_cache_dir(tmp_path: Path) -> None:
    folder = write_release(tmp_path / "mine")
    assert datasets.find_movielens("ml-100k") is None
    assert datasets.find_movielens("ml-100k", cache_dir=tmp_path / "mine") == folder


def test_search_dirs_do_not_match_loose_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # EMBEDLAB_DATA holds releases in subfolders; a loose ratings.csv there is not ml-25m.
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")
    monkeypatch.setenv("EMBEDLAB_DATA", str(tmp_path))
    assert datasets.find_movielens("ml-25m") is None


def test_find_nothing(tmp_path: Path) -> None:
    assert datasets.find_movielens("ml-100k") is None
    assert datasets.find_movielens("ml-100k", tmp_path / "missing") is None


def test_find_unknown_release() -> None:
    with pytest.raises(DataError, match="unknown MovieLens release"):
        datasets.find_movielens("ml-7k")


# --------------------------------------------------------------------------- movielens: errors


def test_not_found_without_download_names_data_and_env(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        datasets.movielens("ml-100k", download=False)
    msg = str(info.value)
    assert "\n" not in msg
    assert "ml-100k is not on disk" in msg
    assert "--data PATH" in msg and "EMBEDLAB_DATA" in msg and "ml-100k/" in msg


def test_wrong_explicit_path_does_not_download(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"does not hold ml-100k: expected .*u\.data"):
        datasets.movielens("ml-100k", data=tmp_path)  # download=True, yet nothing is fetched


@pytest.mark.network
def test_offline_download_error_names_data_and_env(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(embedlab.DownloadError, match=r"pass --data PATH or set EMBEDLAB_DATA"):
        datasets.movielens("ml-100k", base_url=f"http://127.0.0.1:{port}", progress=False)


# --------------------------------------------------------------------------- movielens: loading


def test_movielens_from_explicit_path(tmp_path: Path) -> None:
    write_release(tmp_path)
    ds = datasets.movielens("ml-100k", data=tmp_path, download=False)
    assert len(ds) == len(ROWS)


def test_movielens_from_embedlab_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_release(tmp_path)
    monkeypatch.setenv("EMBEDLAB_DATA", str(tmp_path))
    assert len(datasets.movielens("ml-100k", download=False)) == len(ROWS)


def test_movielens_from_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_release(tmp_path)
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path))
    assert len(embedlab.datasets.movielens("ml-100k", download=False)) == len(ROWS)


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in tiny_files().items():
            zf.writestr(f"ml-100k/{name}", content)
    handler = type("Handler", (_Handler,), {"body": buf.getvalue()})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
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


@pytest.mark.network
def test_movielens_downloads_into_the_cache(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(_BY_NAME, "ml-100k", TINY)
    ds = datasets.movielens("ml-100k", cache_dir=tmp_path, base_url=base_url, progress=False)
    assert len(ds) == len(ROWS)
    assert (tmp_path / "ml-100k" / "u.data").is_file()
    # Second call: found in the given cache, no download.
    assert len(datasets.movielens("ml-100k", cache_dir=tmp_path, download=False)) == len(ROWS)


@pytest.mark.network
def test_download_locates_the_folder_without_loader(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(_BY_NAME, "ml-100k", TINY)
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path))
    assert datasets.find_movielens("ml-100k") is None
    path = embedlab.data.fetch_movielens("ml-100k", base_url=base_url, progress=False)
    assert datasets.find_movielens("ml-100k") == path == tmp_path / "ml-100k"


@pytest.mark.realdata
def test_real_ml100k_is_found_and_loaded(shared_data: Path) -> None:
    assert datasets.find_movielens("ml-100k", shared_data) == shared_data / "ml-100k"
    ds = datasets.movielens("ml-100k", data=shared_data, download=False)
    assert len(ds) == 100_000


@pytest.mark.realdata
def test_real_ml100k_passes_the_content_check(shared_data: Path) -> None:
    from embedlab.data._download import check_release_folder

    check_release_folder(shared_data / "ml-100k", "ml-100k")  # 100,000 ratings, every file
    check_release_folder(shared_data / "ml-latest-small", "ml-latest-small")
