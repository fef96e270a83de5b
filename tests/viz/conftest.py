"""Fixtures of the picture tests: a model trained on planted genres, image checks, Chromium.

Browser tests (marker ``browser``) drive Debian's ``/usr/bin/chromium`` through
Playwright; they skip with the reason when it is absent, except under ``CI=true``
where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import embedlab as el

#: Debian's chromium; ``EMBEDLAB_CHROMIUM`` points elsewhere.
CHROMIUM = Path(os.environ.get("EMBEDLAB_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="session")
def planted() -> tuple[Any, Any, Any]:
    """``(model, truth, validation)``: an 8-dim MatrixFactorization of 300 items in 6 genres.

    Tight planted clusters (genre_spread 0.2) so the known answer is clear.
    """
    ds, truth = el.synthetic_ratings(
        600, 300, 40_000, n_genres=6, genre_spread=0.2, interaction_scale=1.5, random_state=0
    )
    train, validation = ds.split("random", test_size=0.1, random_state=0)
    model = el.MatrixFactorization(embedding_dim=8, epochs=10, random_state=0)
    model.fit(train, validation=validation, progress=False)
    return model, truth, validation


@pytest.fixture(scope="session")
def planted_tsne(planted: tuple[Any, Any, Any]) -> Any:
    """The t-SNE projection of the planted model's items (computed once)."""
    import embedlab.viz as viz

    return viz.project(planted[0].item_embeddings(), "tsne", random_state=0)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium, or a skip (a failure under CI=true) naming what is missing."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is not installed (pip install -e .[web])"
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true makes browser tests mandatory: {reason}")
        pytest.skip(reason)
    return CHROMIUM
