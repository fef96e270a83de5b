"""Shared fixtures. Real MovieLens data: $EMBEDLAB_TEST_DATA, default ../shared/data.

Tests marked ``realdata`` skip with a reason when the folder is absent, except under
``CI=true`` where they fail: CI must run them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_DATA_ENV = "EMBEDLAB_TEST_DATA"


def _shared_data() -> Path:
    return Path(os.environ.get(TEST_DATA_ENV, REPO.parent / "shared" / "data")).expanduser()


def _require(path: Path, what: str) -> Path:
    if path.exists():
        return path
    reason = f"{what} not found at {path} (set {TEST_DATA_ENV} to the folder holding ml-100k/ and ml-latest-small/)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true makes real-data tests mandatory: {reason}")
    pytest.skip(reason)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real MovieLens files."""
    return _require(_shared_data(), "real MovieLens data")


@pytest.fixture(scope="session")
def ml100k_dir(shared_data: Path) -> Path:
    return _require(shared_data / "ml-100k", "ML-100K")


@pytest.fixture(scope="session")
def mlsmall_dir(shared_data: Path) -> Path:
    return _require(shared_data / "ml-latest-small", "ml-latest-small")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test read or write the user's real cache or data folders."""
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("EMBEDLAB_DATA", raising=False)
