"""embedlab.datasets: where MovieLens is found (explicit path, EMBEDLAB_DATA, cache, download)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import embedlab
import embedlab.data
from embedlab import datasets
from embedlab.data import MovieLensRelease
from embedlab.exceptions import DataError, DatasetNotFoundError
from movielens_files import RATINGS, tiny_ml100k_files, write_files


def write_release(parent: Path, folder: str = "ml-100k") -> Path:
    return write_files(parent / folder, tiny_ml100k_files())


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


def test_embedlab_data_may_be_the_release_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the folder --data takes (…/ml-100k) works in EMBEDLAB_DATA too, not only its parent
    folder = write_release(tmp_path / "env")
    monkeypatch.setenv("EMBEDLAB_DATA", str(folder))
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    assert datasets.find_movielens("ml-100k") == folder
    assert len(datasets.movielens("ml-100k", download=False)) == len(RATINGS)


def test_not_found_lists_the_paths_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "ml-100k"
    env.mkdir()
    monkeypatch.setenv("EMBEDLAB_DATA", str(env))
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DatasetNotFoundError) as info:
        datasets.movielens("ml-100k", download=False)
    msg = str(info.value)
    assert "\n" not in msg
    for tried in (env / "u.data", env / "ml-100k" / "u.data", tmp_path / "cache" / "ml-100k.zip"):
        assert str(tried) in msg
    with pytest.raises(DatasetNotFoundError) as info:
        datasets.movielens("ml-100k", data=tmp_path / "elsewhere")
    assert str(tmp_path / "elsewhere" / "ml-100k" / "u.data") in str(info.value)


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
    with pytest.raises(DatasetNotFoundError, match=r"does not hold ml-100k: tried .*u\.data"):
        datasets.movielens("ml-100k", data=tmp_path)  # download=True, yet nothing is fetched


@pytest.mark.network
def test_offline_download_error_names_data_and_env(refused_url: str) -> None:
    with pytest.raises(embedlab.DownloadError, match=r"pass --data PATH or set EMBEDLAB_DATA"):
        datasets.movielens("ml-100k", base_url=refused_url, progress=False)


# --------------------------------------------------------------------------- movielens: loading


def test_movielens_from_explicit_path(tmp_path: Path) -> None:
    write_release(tmp_path)
    ds = datasets.movielens("ml-100k", data=tmp_path, download=False)
    assert len(ds) == len(RATINGS)


def test_movielens_from_embedlab_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_release(tmp_path)
    monkeypatch.setenv("EMBEDLAB_DATA", str(tmp_path))
    assert len(datasets.movielens("ml-100k", download=False)) == len(RATINGS)


def test_movielens_from_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_release(tmp_path)
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path))
    assert len(embedlab.datasets.movielens("ml-100k", download=False)) == len(RATINGS)


@pytest.mark.network
def test_movielens_downloads_into_the_cache(
    movielens_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = datasets.movielens("ml-100k", cache_dir=tmp_path, base_url=movielens_url, progress=False)
    assert len(ds) == len(RATINGS)
    assert (tmp_path / "ml-100k" / "u.data").is_file()
    # Second call: found in the given cache, no download.
    assert len(datasets.movielens("ml-100k", cache_dir=tmp_path, download=False)) == len(RATINGS)


@pytest.mark.network
def test_download_locates_the_folder_without_loader(
    movielens_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path))
    assert datasets.find_movielens("ml-100k") is None
    path = embedlab.data.fetch_movielens("ml-100k", base_url=movielens_url, progress=False)
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
