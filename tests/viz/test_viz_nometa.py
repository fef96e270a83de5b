"""Maps of embeddings without metadata, or with side-table columns of any type."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import embedlab.viz as viz
from embedlab.embeddings import KeyedEmbeddings


def _kv(metadata: pd.DataFrame | None = None, labels: list | None = None) -> KeyedEmbeddings:
    rng = np.random.default_rng(0)
    keys = [f"p{i:03d}" for i in range(40)]
    return KeyedEmbeddings(rng.normal(size=(40, 5)), keys, labels=labels, metadata=metadata)


def _legend_title(m: viz.EmbeddingMap) -> str | None:
    legend = m.figure.axes[0].get_legend()
    return None if legend is None else legend.get_title().get_text()


def test_no_metadata_map_does_not_raise_and_labels_by_id(tmp_path) -> None:
    m = viz.embedding_map(_kv(), method="pca", label_top=5)
    assert m._colouring.kind == "none" and _legend_title(m) is None
    assert len(m.placed_labels) >= 1
    texts = {t.get_text() for t in m.figure.axes[0].texts}
    assert texts and all(re.fullmatch(r"p\d{3}", t) for t in texts)  # IDs stand in for labels
    m.save(tmp_path / "map.png")
    payload = m.save(tmp_path / "map.html").read_text()
    assert '"p000"' in payload and "genres:" not in payload


def test_auto_colour_prefers_genres_then_counts_then_numbers() -> None:
    genres = [["a"] if i % 2 else ["b"] for i in range(40)]
    meta = pd.DataFrame({"genres": genres, "n_ratings": np.arange(40), "price": 1.5})
    assert viz.embedding_map(_kv(meta), "pca")._colouring.name == "genres"
    m = viz.embedding_map(_kv(meta.drop(columns="genres")), "pca")
    assert m._colouring.name == "n_ratings" and m._colouring.kind == "continuous"
    m = viz.embedding_map(_kv(pd.DataFrame({"price": np.linspace(1, 9, 40)})), "pca")
    assert m._colouring.name == "price" and m._colouring.kind == "continuous"
    m = viz.embedding_map(_kv(pd.DataFrame({"aisle": ["x"] * 40})), "pca")
    assert m._colouring.kind == "none"  # text columns are coloured only on request


@pytest.mark.parametrize(("column", "kind"), [("aisle", "categorical"), ("price", "continuous")])
def test_colour_by_any_side_table_column(column: str, kind: str, tmp_path) -> None:
    meta = pd.DataFrame(
        {"aisle": ["tea", "wine", None, "tea"] * 10, "price": np.linspace(1, 9, 40)}
    )
    m = viz.embedding_map(_kv(meta, labels=[f"item {i}" for i in range(40)]), "pca", color=column)
    assert m._colouring.kind == kind
    if kind == "categorical":
        assert _legend_title(m) == "colour: aisle"
        assert set(m._colouring.groups) == {"tea", "wine", "(missing)"}
    else:
        assert len(m.figure.axes) == 2  # the colour bar
    m.save(tmp_path / "map.html")
    text = (tmp_path / "map.html").read_text()
    found = re.search(r"<script[^>]*id=\"embedlab-data\"[^>]*>(.*?)</script>", text, re.S)
    if found:
        assert json.loads(found.group(1))["labels"][0] == "item 0"
