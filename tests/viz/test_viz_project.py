"""``embedlab.viz.project``: known answers on planted genres, filters, inputs and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
from sklearn.metrics import silhouette_score

import embedlab as el
import embedlab.viz as viz


def _planted_labels(frame: pd.DataFrame, truth) -> np.ndarray:
    # synthetic_ratings gives item IDs 1..n_items: item ID k is truth row k - 1.
    return truth.item_genre[frame["key"].to_numpy(dtype=np.int64) - 1]


def test_tsne_separates_planted_genres(planted, planted_tsne) -> None:
    model, truth, _ = planted
    frame = planted_tsne
    kv = model.item_embeddings()
    xy = frame[["x", "y"]].to_numpy()
    labels = _planted_labels(frame, truth)
    silhouette = silhouette_score(xy, labels)
    trust = trustworthiness(kv.vectors[frame.attrs["rows"]], xy, n_neighbors=10, metric="cosine")
    print(f"planted genres in 2-D t-SNE: silhouette {silhouette:.3f}, trustworthiness {trust:.3f}")
    assert silhouette >= 0.3
    assert trust >= 0.9
    assert frame.attrs["method"] == "tsne" and frame.attrs["metric"] == "cosine"
    assert frame.attrs["perplexity"] == 30


def test_frame_columns_and_metadata(planted_tsne, planted) -> None:
    frame = planted_tsne
    kv = planted[0].item_embeddings()
    assert list(frame.columns[:4]) == ["key", "label", "x", "y"]
    assert {"genres", "year", "n_ratings", "title"} <= set(frame.columns)
    assert frame["key"].tolist() == kv.keys.ids().tolist()
    assert frame["label"].tolist() == list(kv.labels)
    assert np.isfinite(frame[["x", "y"]].to_numpy()).all()
    assert "MatrixFactorization" in frame.attrs["source"] or "embeddings" in frame.attrs["source"]


def test_pca_is_sklearn_pca_of_unit_rows_with_variance_ratio() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 6)) * np.array([5, 3, 1, 1, 1, 1])
    frame = viz.project((vectors, [f"k{i}" for i in range(50)]), "pca")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = PCA(2, random_state=0).fit(unit)
    assert frame.attrs["explained_variance_ratio"] == pytest.approx(
        expected.explained_variance_ratio_.tolist()
    )
    xy = expected.transform(unit)
    # PCA axes are defined up to sign.
    for axis, col in enumerate("xy"):
        got = frame[col].to_numpy()
        assert np.allclose(np.abs(got), np.abs(xy[:, axis]), atol=1e-5)
    euclid = viz.project((vectors, list(range(50))), "pca", metric="euclidean")
    assert euclid.attrs["explained_variance_ratio"][0] > 0.5  # the long first axis
    assert frame["label"].isna().all() and list(frame.columns) == ["key", "label", "x", "y"]


def test_filters_subset_top_n_genre(planted) -> None:
    kv = planted[0].item_embeddings()
    counts = kv.metadata["n_ratings"].to_numpy()
    top = viz.project(kv, "pca", top_n=25)
    expected = set(kv.keys.ids()[np.argsort(-counts, kind="stable")[:25]].tolist())
    assert set(top["key"].tolist()) == expected
    sub = viz.project(kv, "pca", subset=[5, 3, 9, 1])
    assert sub["key"].tolist() == [1, 3, 5, 9]
    drama = viz.project(kv, "pca", genre="drama")
    assert len(drama) > 10
    assert all("Drama" in list(g) for g in drama["genres"])
    both = viz.project(kv, "pca", genre="Drama", top_n=5)
    assert len(both) == 5 and all("Drama" in list(g) for g in both["genres"])


def test_model_and_pair_inputs_agree(planted) -> None:
    model = planted[0]
    kv = model.item_embeddings()
    a = viz.project(model, "pca")
    b = viz.project((kv.vectors, kv.keys.ids()), "pca")
    assert np.allclose(a[["x", "y"]].to_numpy(), b[["x", "y"]].to_numpy())
    assert a.attrs["source"].startswith("MatrixFactorization (8 dims")


def test_errors() -> None:
    pair = (np.eye(5), list("abcde"))
    with pytest.raises(ValueError, match="method='mds'"):
        viz.project(pair, "mds")
    with pytest.raises(ValueError, match="metric="):
        viz.project(pair, "pca", metric="manhattan")
    with pytest.raises(el.DataError, match="n_ratings"):
        viz.project(pair, "pca", top_n=3)
    with pytest.raises(el.DataError, match="genres"):
        viz.project(pair, "pca", genre="Drama")
    with pytest.raises(ValueError, match="at least 3"):
        viz.project(pair, "pca", subset=["a", "b"])
    with pytest.raises(el.UnknownIDError):
        viz.project(pair, "pca", subset=["zz"])
    with pytest.raises(TypeError, match="cannot project a list"):
        viz.project([[1.0, 2.0]], "pca")
    with pytest.raises(ValueError, match="perplexity"):
        viz.project(pair, "tsne", perplexity=0)


def test_n_jobs_is_the_deprecated_name_of_n_threads() -> None:
    pair = (np.random.default_rng(0).standard_normal((12, 4)), list(range(12)))
    with pytest.warns(
        FutureWarning,
        match=r"^project: n_jobs= is deprecated and will be removed in the next release; "
        "use n_threads=$",
    ):
        old = viz.project(pair, "tsne", perplexity=3, n_jobs=1)
    pd.testing.assert_frame_equal(old, viz.project(pair, "tsne", perplexity=3, n_threads=1))
    with pytest.raises(ValueError, match=r"both n_threads= and n_jobs="):
        viz.project(pair, "pca", n_jobs=1, n_threads=1)


def test_umap_missing_names_the_package() -> None:
    pytest.importorskip("sklearn")
    try:
        import umap  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("umap-learn is installed here")
    with pytest.raises(ImportError, match="pip install umap-learn") as info:
        viz.project((np.eye(5), list("abcde")), "umap")
    assert "\n" not in str(info.value)
