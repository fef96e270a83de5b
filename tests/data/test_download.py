"""fetch_movielens against a local HTTP server on 127.0.0.1 serving zips the tests build."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from embedlab.data import MovieLensRelease, fetch_movielens, movielens_releases
from embedlab.data._download import (
    MARKER,
    check_release_folder,
    count_ratings,
    get_release,
)
from embedlab.exceptions import DataError, DownloadError
from movielens_files import (
    RATINGS,
    TINY_ZIP,
    build_zip,
    tiny_ml100k_files,
    tiny_release,
    write_files,
)
from movielens_files import MovieLensServer as Server

GOOD_ZIP = TINY_ZIP  # what the server sends unless a test changes it


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


Fetch = Callable[..., Path]


@pytest.fixture
def server(movielens_server: Server) -> Server:
    """The local server from tests/conftest.py; each test sets what it does."""
    return movielens_server


@pytest.fixture
def fetch(server: Server, cache: Path) -> Fetch:
    def run(release: MovieLensRelease | str | None = None, **kw: object) -> Path:
        kw.setdefault("cache_dir", cache)
        kw.setdefault("base_url", server.base_url)
        kw.setdefault("progress", False)
        return fetch_movielens(release if release is not None else tiny_release(), **kw)

    return run


# --------------------------------------------------------------------------- registry


def test_registry_lists_every_release_with_url_folder_and_counts() -> None:
    releases = {r.name: r for r in movielens_releases()}
    assert list(releases) == [
        "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m", "ml-latest-small", "ml-latest",
    ]  # fmt: skip
    counts = {name: r.n_ratings for name, r in releases.items()}
    assert counts == {
        "ml-100k": 100_000, "ml-1m": 1_000_209, "ml-10m": 10_000_054, "ml-20m": 20_000_263,
        "ml-25m": 25_000_095, "ml-32m": 32_000_204, "ml-latest-small": None, "ml-latest": None,
    }  # fmt: skip
    assert releases["ml-10m"].folder == "ml-10M100K"
    assert releases["ml-1m"].url() == "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
    assert releases["ml-1m"].url("http://mirror/x/") == "http://mirror/x/ml-1m.zip"
    for r in releases.values():
        assert r.ratings_file in r.files
        assert r.size_bytes and r.size_bytes > 0
        if r.frozen:
            assert r.md5 is not None and len(r.md5) == 32  # every frozen release has a pinned md5
        else:
            assert r.md5 is None and r.sha256 is None
        json.dumps(r.to_dict())


@pytest.mark.parametrize("alias", ["ml-100k", "ML-100K", "100k", " ml-100k "])
def test_release_names_are_forgiving(alias: str) -> None:
    assert get_release(alias).name == "ml-100k"


def test_folder_name_finds_the_release() -> None:
    assert get_release("ml-10M100K").name == "ml-10m"


def test_unknown_release_lists_the_known_ones() -> None:
    with pytest.raises(
        DataError,
        match=r"unknown MovieLens release 'ml-5k'; known releases: ml-100k, ml-1m.*ml-latest$",
    ):
        fetch_movielens("ml-5k")


def test_count_ratings_handles_headers_and_missing_final_newline(tmp_path: Path) -> None:
    f = tmp_path / "ratings.csv"
    f.write_bytes(b"userId,movieId,rating,timestamp\r\n1,2,3.5,4\r\n5,6,4.0,7")
    assert count_ratings(f, header=True) == 2
    f.write_bytes(b"1\t2\t3\t4\n")
    assert count_ratings(f) == 1
    f.write_bytes(b"")
    assert count_ratings(f, header=True) == 0


def test_check_release_folder_names_the_missing_file(tmp_path: Path) -> None:
    files = tiny_ml100k_files()
    del files["u.user"]
    write_files(tmp_path, files)
    with pytest.raises(DataError, match=r"not a complete ml-100k release: missing u\.user"):
        check_release_folder(tmp_path, tiny_release())


def test_check_release_folder_counts_ratings(tmp_path: Path) -> None:
    write_files(tmp_path, tiny_ml100k_files())
    check_release_folder(tmp_path, tiny_release())
    with pytest.raises(DataError, match="expected 6 ratings for ml-100k, found 5"):
        check_release_folder(tmp_path, tiny_release(n_ratings=6))


@pytest.mark.parametrize("bad", ["md5:xyz", "sha1:" + "0" * 40, "0" * 31, "sha256:" + "0" * 32])
def test_malformed_checksum_is_a_data_error(bad: str) -> None:
    with pytest.raises(DataError, match="checksum="):
        fetch_movielens(tiny_release(), checksum=bad, progress=False)


def test_timeout_must_be_positive() -> None:
    with pytest.raises(DataError, match="timeout=0"):
        fetch_movielens(tiny_release(), timeout=0)


# --------------------------------------------------------------------------- downloads


@pytest.mark.network
def test_good_archive_is_extracted_checked_and_cached(
    fetch: Fetch, server: Server, cache: Path
) -> None:
    path = fetch()
    assert path == cache / "ml-100k"
    assert (path / "u.data").read_bytes() == tiny_ml100k_files()["u.data"]
    assert (path / "u.item").read_bytes().decode("latin-1").count("époque") == 1
    marker = json.loads((path / MARKER).read_text())
    assert marker["release"] == "ml-100k"
    assert marker["url"] == f"{server.base_url}/ml-100k.zip"
    assert marker["sha256"] == hashlib.sha256(GOOD_ZIP).hexdigest()
    assert server.requests == ["/ml-100k.zip"]
    assert leftovers(cache) == ["ml-100k"]  # no .part, no staging folder

    assert fetch() == path  # second call: from the cache
    assert len(server.requests) == 1


@pytest.mark.network
@pytest.mark.parametrize("algo", ["md5", "sha256"])
def test_matching_checksum_passes(fetch: Fetch, algo: str) -> None:
    digest = hashlib.new(algo, GOOD_ZIP).hexdigest()
    assert fetch(checksum=f"{algo}:{digest}").is_dir()


@pytest.mark.network
def test_pinned_checksum_is_checked(fetch: Fetch) -> None:
    good = hashlib.md5(GOOD_ZIP).hexdigest()
    sha = hashlib.sha256(GOOD_ZIP).hexdigest()
    assert fetch(tiny_release(md5=good, sha256=sha)).is_dir()


@pytest.mark.network
@pytest.mark.parametrize("how", ["argument", "pinned"])
def test_checksum_mismatch_names_expected_and_got_and_keeps_nothing(
    fetch: Fetch, cache: Path, how: str
) -> None:
    wrong = "0" * 32
    got = hashlib.md5(GOOD_ZIP).hexdigest()
    kw: dict[str, object] = {"checksum": f"md5:{wrong}"} if how == "argument" else {}
    release = tiny_release() if how == "argument" else tiny_release(md5=wrong)
    with pytest.raises(
        DownloadError, match=rf"md5 checksum mismatch \(expected {wrong}, got {got}\)"
    ) as info:
        fetch(release, **kw)
    assert "ml-100k" in str(info.value) and "/ml-100k.zip" in str(info.value)
    assert leftovers(cache) == []


@pytest.mark.network
def test_http_404_names_the_status(fetch: Fetch, server: Server, cache: Path) -> None:
    server.status = 404
    with pytest.raises(DownloadError) as info:
        fetch()
    msg = str(info.value)
    assert (
        f"could not download ml-100k from {server.base_url}/ml-100k.zip (HTTP 404 Not Found)" in msg
    )
    assert "\n" not in msg
    assert leftovers(cache) == []


@pytest.mark.network
def test_refused_connection_gives_the_offline_hint(cache: Path, refused_url: str) -> None:
    with pytest.raises(DownloadError) as info:
        fetch_movielens(
            tiny_release(), cache_dir=cache, base_url=refused_url, progress=False, timeout=5
        )
    assert str(info.value) == (
        f"could not download ml-100k from {refused_url}/ml-100k.zip (connection refused); if you are offline, "
        "pass --data PATH or set EMBEDLAB_DATA to a folder holding ml-100k/"
    )
    assert leftovers(cache) == []


@pytest.mark.network
def test_truncated_body_is_an_error(fetch: Fetch, server: Server, cache: Path) -> None:
    server.extra_length = 1000
    n = len(GOOD_ZIP)
    with pytest.raises(DownloadError, match=rf"truncated: received {n:,} of {n + 1000:,} bytes"):
        fetch()
    assert leftovers(cache) == []


@pytest.mark.network
def test_slow_server_times_out_quickly(fetch: Fetch, server: Server, cache: Path) -> None:
    server.delay = 5.0
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"\(timed out\); if you are offline"):
        fetch(timeout=0.5)
    assert time.monotonic() - start < 3.0
    assert leftovers(cache) == []


@pytest.mark.network
def test_missing_file_in_zip_is_a_data_error_and_keeps_nothing(
    fetch: Fetch, server: Server, cache: Path
) -> None:
    files = {name: content for name, content in tiny_ml100k_files().items() if name != "u.user"}
    server.body = build_zip(files)
    with pytest.raises(
        DataError, match=r"downloaded ml-100k from .*: .* missing u\.user.*nothing was kept"
    ):
        fetch()
    assert leftovers(cache) == []


@pytest.mark.network
def test_wrong_number_of_ratings_is_a_data_error(fetch: Fetch, server: Server, cache: Path) -> None:
    server.body = build_zip(tiny_ml100k_files(n_rows=4))
    with pytest.raises(DataError, match="expected 5 ratings for ml-100k, found 4"):
        fetch()
    assert leftovers(cache) == []


@pytest.mark.network
def test_zip_without_the_release_folder(fetch: Fetch, server: Server, cache: Path) -> None:
    server.body = build_zip(tiny_ml100k_files(), folder="other")
    with pytest.raises(DataError, match=r"the zip has no folder ml-100k/ \(found other\)"):
        fetch()
    assert leftovers(cache) == []


@pytest.mark.network
def test_not_a_zip(fetch: Fetch, server: Server, cache: Path) -> None:
    server.body = b"<html>maintenance</html>"
    with pytest.raises(DownloadError, match="not a valid zip"):
        fetch()
    assert leftovers(cache) == []


@pytest.mark.network
def test_unsafe_member_path_is_refused(
    fetch: Fetch, server: Server, cache: Path, tmp_path: Path
) -> None:
    files = {f"ml-100k/{k}": v for k, v in tiny_ml100k_files().items()}
    files["../escaped.txt"] = b"x"
    server.body = build_zip(files, folder="")
    with pytest.raises(DataError, match=r"unsafe path '\.\./escaped\.txt'"):
        fetch()
    assert not (tmp_path / "escaped.txt").exists()
    assert leftovers(cache) == []


@pytest.mark.network
def test_failed_download_leaves_a_cached_copy_alone(
    fetch: Fetch, server: Server, cache: Path
) -> None:
    path = fetch()
    server.status = 500
    with pytest.raises(DownloadError, match="HTTP 500"):
        fetch(force=True)
    assert (path / "u.data").is_file()
    assert leftovers(cache) == ["ml-100k"]


@pytest.mark.network
def test_force_downloads_again_and_replaces(fetch: Fetch, server: Server, cache: Path) -> None:
    path = fetch()
    files = tiny_ml100k_files()
    files["u.info"] = b"second copy\n"
    server.body = build_zip(files)
    assert fetch() == path and len(server.requests) == 1
    assert fetch(force=True) == path
    assert len(server.requests) == 2
    assert (path / "u.info").read_bytes() == b"second copy\n"
    assert leftovers(cache) == ["ml-100k"]


@pytest.mark.network
def test_damaged_cache_is_downloaded_again(fetch: Fetch, server: Server) -> None:
    path = fetch()
    (path / "u.item").unlink()
    assert fetch() == path
    assert len(server.requests) == 2
    assert (path / "u.item").is_file()


@pytest.mark.network
def test_cache_without_marker_is_checked_in_full(fetch: Fetch, server: Server, cache: Path) -> None:
    folder = write_files(cache / "ml-100k", tiny_ml100k_files())
    assert fetch() == folder  # complete and right count: used as is
    assert server.requests == []
    (folder / "u.data").write_bytes(b"1\t1\t5\t1\n")  # altered: wrong count
    assert fetch() == folder
    assert server.requests == ["/ml-100k.zip"]
    assert count_ratings(folder / "u.data") == len(RATINGS)


@pytest.mark.network
def test_default_cache_is_embedlab_cache(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "envcache"))
    path = fetch_movielens(tiny_release(), base_url=server.base_url, progress=False)
    assert path == tmp_path / "envcache" / "ml-100k"


@pytest.mark.network
def test_unwritable_cache_is_a_download_error(fetch: Fetch, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DownloadError, match=r"could not store ml-100k in the cache .*a-file/sub"):
        fetch(cache_dir=blocker / "sub")


@pytest.mark.network
def test_progress_bar_goes_to_stderr(fetch: Fetch, capsys: pytest.CaptureFixture[str]) -> None:
    fetch(progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "ml-100k.zip" in err
