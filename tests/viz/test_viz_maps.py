"""Static (PNG/SVG) and interactive (HTML) embedding maps."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from viz_pictures import assert_picture

import embedlab.viz as viz


@pytest.fixture(scope="module")
def pca_map(planted):
    return viz.embedding_map(planted[0], "pca", color="genre", label_top=20, data="synthetic")


def _legend_texts(fig) -> tuple[str, list[str]]:
    legend = fig.axes[0].get_legend()
    return legend.get_title().get_text(), [t.get_text() for t in legend.get_texts()]


def test_png_decodes_and_is_not_blank(pca_map, tmp_path) -> None:
    path = pca_map.save(tmp_path / "map.png")
    assert_picture(path, (1000, 800), min_colours=8)
    title, entries = _legend_texts(pca_map.figure)
    assert "rarest" in title
    assert len(entries) == 6  # the six planted genres
    assert sum(int(re.search(r"\((\d+)\)$", e).group(1)) for e in entries) == 300


def test_title_names_model_method_and_data(pca_map) -> None:
    assert "MatrixFactorization (8 dims" in pca_map.title
    assert "PCA (cosine" in pca_map.title and "300 items of synthetic" in pca_map.title
    assert pca_map.figure.texts[0].get_text() == pca_map.title


def test_labels_are_the_most_rated_and_never_overlap(pca_map) -> None:
    pca_map.figure  # noqa: B018  (draws the map and places the labels)
    frame = pca_map.projection
    top20 = set(frame.nlargest(20, "n_ratings", keep="first")["key"].tolist())
    placed = pca_map.placed_labels
    assert len(placed) >= 8
    assert set(placed) <= top20
    boxes = pca_map.label_boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
            assert not overlap, (a, b)


def test_genre_rules_on_a_hand_made_frame() -> None:
    frame = pd.DataFrame(
        {
            "key": [1, 2, 3, 4],
            "label": ["A", "B", "C", "D"],
            "x": [0.0, 1.0, 2.0, 3.0],
            "y": [0.0, 1.0, 0.0, 1.0],
            "genres": [["Drama", "Animation"], ["Drama"], ["Drama", "Comedy"], []],
        }
    )
    rarest = viz.embedding_map(frame, label_top=0)
    title, entries = _legend_texts(rarest.figure)
    assert title == "colour: genres: rarest listed (most specific)"
    assert entries == ["Animation (1)", "Comedy (1)", "Drama (1)", "(no genre) (1)"]
    first = viz.embedding_map(frame, label_top=0, genre_rule="first")
    title, entries = _legend_texts(first.figure)
    assert title == "colour: genres: first listed"
    assert entries == ["Drama (3)", "(no genre) (1)"]
    # Neighbours of a bare projection are measured on the map.
    assert first.neighbour_space == "distance on the map"
    assert first.neighbours[0].tolist() == [1, 2, 3]


def test_continuous_colours_have_a_colourbar(planted, tmp_path) -> None:
    frame = viz.project(planted[0], "pca")
    year = viz.embedding_map(frame, color="year", label_top=5)
    assert len(year.figure.axes) == 2  # map + colourbar
    assert year.figure.axes[1].get_ylabel() == "year"
    counts = viz.embedding_map(frame, color="n_ratings", label_top=0)
    assert counts.figure.axes[1].get_ylabel() == "n_ratings (log scale)"
    assert_picture(counts.save(tmp_path / "counts.png"), (1000, 800), min_colours=20)
    plain = viz.embedding_map(frame, color=None, label_top=0)
    assert len(plain.figure.axes) == 1
    svg = plain.save(tmp_path / "plain.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_bad_options(planted, tmp_path) -> None:
    frame = viz.project(planted[0], "pca")
    with pytest.raises(ValueError, match=r"color='rating'.*available: title, genres"):
        viz.embedding_map(frame, color="rating")
    with pytest.raises(ValueError, match=r"unknown file type '\.jpg'"):
        viz.embedding_map(frame).save(tmp_path / "map.jpg")
    with pytest.raises(TypeError, match="top_n"):
        viz.embedding_map(frame, top_n=5)
    with pytest.raises(ValueError, match="genre_rule"):
        viz.embedding_map(frame, genre_rule="longest")
    with pytest.raises(ValueError, match="lacks columns"):
        viz.embedding_map(frame.drop(columns="x"))


def _payload(html: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="embedlab-data">(.*?)</script>', html, re.S
    )
    assert match is not None
    return json.loads(match.group(1))


def test_html_holds_every_point_and_true_neighbours(pca_map, planted, tmp_path) -> None:
    path = pca_map.save(tmp_path / "map.html")
    html = path.read_text(encoding="utf-8")
    data = _payload(html)
    kv = planted[0].item_embeddings()
    assert data["n"] == 300 and len(data["x"]) == 300 and len(data["labels"]) == 300
    assert data["keys"] == kv.keys.ids().tolist()
    assert np.array(data["neighbours"]).shape == (300, 10)
    for row in (0, 17, 250):
        expected = kv.most_similar(data["keys"][row], topn=10)["key"].tolist()
        assert [data["keys"][j] for j in data["neighbours"][row]] == expected
    # Every point is drawn: the point counts of the group traces add up to 300.
    sizes = [int(n) for n in re.findall(r'"name":"[^"]+ \((\d+)\)"', html)]
    assert sum(sizes) == 300


def test_html_is_self_contained(pca_map, tmp_path) -> None:
    from plotly.offline import get_plotlyjs

    html = pca_map.save(tmp_path / "map.html").read_text(encoding="utf-8")
    bundle = get_plotlyjs()
    assert bundle in html  # plotly.js inlined, not fetched
    # Outside the library (whose source mentions URLs it never loads here: map tiles,
    # topojson), no URL at all, and no script or link loaded from elsewhere. The browser
    # test checks that opening the page requests nothing from the network.
    ours = html.replace(bundle, "")
    assert "<script src" not in ours and "<link" not in ours
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", ours)
    assert "https://cdn" not in ours and not re.search(r"https?://", ours)
    size_mb = len(html.encode()) / 1e6
    assert size_mb - len(bundle) / 1e6 < 0.5, size_mb
