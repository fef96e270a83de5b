"""KeyedEmbeddings: known answers (hand-computed cosines, planted clusters), labels, errors."""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import embedlab
import embedlab.embeddings._keyed
import embedlab.embeddings._search
from embedlab import KeyedEmbeddings, UnknownIDError

SQRT_HALF = float(np.sqrt(0.5))


@pytest.fixture
def small() -> KeyedEmbeddings:
    """Five 2-D vectors whose cosines are known by hand; int keys that are not row numbers."""
    vectors = [[1, 0], [1, 1], [0, 1], [-1, 0], [0, 0]]
    return KeyedEmbeddings(vectors, [10, 20, 30, 40, 50], labels=["a", "b", "c", "d", "z"])


@pytest.fixture
def clusters() -> tuple[KeyedEmbeddings, np.ndarray]:
    """Three planted clusters of 20 vectors in 8 dims (tight around orthogonal centres)."""
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:3] * 5.0
    truth = np.repeat(np.arange(3), 20)
    vectors = centres[truth] + rng.normal(scale=0.3, size=(60, 8))
    keys = [f"item{i:02d}" for i in range(60)]
    return KeyedEmbeddings(vectors, keys), truth


@pytest.fixture
def movies() -> KeyedEmbeddings:
    titles = [
        "Toy Story (1995)",
        "Star Wars (1977)",
        "Star Wars: Episode I - The Phantom Menace (1999)",
        "Hamlet (1990)",
        "Hamlet (1996)",
        "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
        "Usual Suspects, The (1995)",
        "Empire Strikes Back, The (1980)",
    ]
    rng = np.random.default_rng(1)
    meta = pd.DataFrame(
        {
            "genres": [
                ["Animation"],
                ["Sci-Fi"],
                ["Sci-Fi"],
                ["Drama"],
                ["Drama"],
                ["Comedy"],
                ["Crime"],
                ["Sci-Fi"],
            ],
            "year": [1995, 1977, 1999, 1990, 1996, 2001, 1995, 1980],
            "n_ratings": [452, 583, 100, 20, 70, 300, 267, 367],
        }
    )
    return KeyedEmbeddings(
        rng.normal(size=(8, 4)),
        [1, 50, 2628, 1411, 1412, 4973, 12, 172],
        labels=titles,
        metadata=meta,
    )


# ---------------------------------------------------------------- import hygiene
def test_importing_embeddings_pulls_in_no_torch_gensim_or_faiss() -> None:
    # embedlab/__init__.py imports the models (torch); bypass it so that this checks
    # embedlab.embeddings and everything *it* imports.
    src = Path(embedlab.__file__).parent
    code = (
        "import sys, types\n"
        f"pkg = types.ModuleType('embedlab'); pkg.__path__ = [{str(src)!r}]\n"
        f"pkg.__version__ = {embedlab.__version__!r}\n"
        "sys.modules['embedlab'] = pkg\n"
        "import embedlab.embeddings, embedlab._ann\n"
        "bad = [m for m in ('torch', 'gensim', 'faiss', 'embedlab.models', 'embedlab.io')\n"
        "       if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "PYTHONPATH": str(src.parent)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr


def test_class_docstring_examples_run() -> None:
    attempted = 0
    for module in (embedlab.embeddings._keyed, embedlab.embeddings._search):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted >= 5


# ---------------------------------------------------------------- construction
def test_construction_checks_and_read_only(small: KeyedEmbeddings) -> None:
    assert len(small) == 5 and small.vector_size == 2 and "KeyedEmbeddings(5 keys" in repr(small)
    assert not small.vectors.flags.writeable
    for vec in (small[20], small.get_vector(20), small.get_vector(20, norm=True)):
        assert not vec.flags.writeable
        with pytest.raises(ValueError):
            vec[0] = 5.0
    np.testing.assert_allclose(small.get_vector(20, norm=True), [SQRT_HALF, SQRT_HALF], rtol=1e-6)
    np.testing.assert_array_equal(small.get_vector(50, norm=True), [0.0, 0.0])


def test_input_array_is_copied() -> None:
    arr = np.ones((2, 3))
    kv = KeyedEmbeddings(arr, ["a", "b"])
    arr[0, 0] = 9.0
    assert kv["a"][0] == 1.0


@pytest.mark.parametrize(
    ("vectors", "keys", "kwargs", "match"),
    [
        ([[np.nan, 1.0], [0.0, 1.0]], ["a", "b"], {}, r"NaN or infinite values \(first in row 0\)"),
        ([[1.0, np.inf]], ["a"], {}, "NaN or infinite"),
        ([1.0, 2.0], ["a", "b"], {}, "2-D"),
        ([[1.0], [2.0]], ["a"], {}, "1 keys for 2 vectors"),
        ([[1.0]], ["a"], {"labels": ["x", "y"]}, "2 labels for 1 vectors"),
        ([[1.0]], ["a"], {"metadata": pd.DataFrame({"n": [1, 2]})}, "metadata has 2 rows"),
        ([[1.0]], ["a"], {"index": "hnsw"}, "index='hnsw'.*'auto', 'exact' or 'faiss'"),
    ],
)
def test_bad_construction(vectors, keys, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        KeyedEmbeddings(vectors, keys, **kwargs)


# ---------------------------------------------------------------- hand-computed cosines
def test_similarity_and_distance_by_hand(small: KeyedEmbeddings) -> None:
    assert small.similarity(10, 20) == pytest.approx(SQRT_HALF)
    assert small.similarity(10, 30) == pytest.approx(0.0)
    assert small.similarity(10, 40) == pytest.approx(-1.0)
    assert small.similarity(10, 50) == 0.0  # zero vector: no division by zero
    assert small.similarity(20, 20) == pytest.approx(1.0)
    assert small.distance(10, 20) == pytest.approx(1 - SQRT_HALF)
    assert small.distance(10, 40) == pytest.approx(2.0)
    assert isinstance(small.similarity(10, 20), float)


def test_most_similar_by_hand(small: KeyedEmbeddings) -> None:
    got = small.most_similar(10, topn=10)
    assert list(got.columns) == ["key", "label", "similarity"]
    # 30 and 50 tie at 0: the lower row comes first; the query 10 is excluded
    assert got["key"].tolist() == [20, 30, 50, 40]
    np.testing.assert_allclose(got["similarity"], [SQRT_HALF, 0.0, 0.0, -1.0], atol=1e-7)
    assert got["similarity"].dtype == np.float64
    assert small.most_similar(10, topn=1)["key"].tolist() == [20]


def test_positive_and_negative_by_hand(small: KeyedEmbeddings) -> None:
    # query = unit(b) - unit(a) = (sqrt(.5) - 1, sqrt(.5)); normalised
    q = np.array([SQRT_HALF - 1, SQRT_HALF])
    q /= np.linalg.norm(q)
    got = small.most_similar(positive=[20], negative=[10], topn=3)
    expected = {30: q @ [0, 1], 40: q @ [-1, 0], 50: 0.0}
    assert got["key"].tolist() == sorted(expected, key=lambda k: -expected[k])
    np.testing.assert_allclose(
        got["similarity"], sorted(expected.values(), reverse=True), atol=1e-6
    )
    # negative only also works, and keys are excluded whichever side they come from
    assert 10 not in small.most_similar(negative=10)["key"].tolist()


def test_int_keys_are_ids_never_rows(small: KeyedEmbeddings) -> None:
    with pytest.raises(UnknownIDError, match="unknown key ID"):
        small.most_similar(0)
    with pytest.raises(UnknownIDError):
        small.get_vector(1)
    # the string form of an int key is the key (a command line sends strings)
    assert small.most_similar("10", topn=1)["key"].tolist() == [20]
    assert small.index(30) == 2 and small.resolve("30") == 30


def test_zero_vector_query_scores_zero(small: KeyedEmbeddings) -> None:
    got = small.most_similar(50, topn=4)
    np.testing.assert_array_equal(got["similarity"], [0.0, 0.0, 0.0, 0.0])
    assert small.similar_by_vector([0.0, 0.0], topn=2)["similarity"].tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- planted clusters
def test_neighbours_come_from_the_same_cluster(clusters) -> None:
    kv, truth = clusters
    for row in range(len(kv)):
        got = kv.most_similar(kv.keys.id(row), topn=5)
        assert (truth[kv.keys.indices(got["key"])] == truth[row]).all()
    batch = kv.most_similar_batch(list(kv.keys), topn=19)
    same = truth[kv.keys.indices(batch["query"])] == truth[kv.keys.indices(batch["key"])]
    assert same.all()


def test_doesnt_match_and_centrality(clusters) -> None:
    kv, _ = clusters
    odd = "item45"  # cluster 2
    assert kv.doesnt_match(["item01", "item02", "item03", odd]) == odd
    ranked = kv.rank_by_centrality(["item01", "item02", odd])
    assert list(ranked.columns) == ["key", "centrality"]
    assert ranked["key"].iloc[-1] == odd
    assert ranked["centrality"].is_monotonic_decreasing


def test_batch_equals_single_calls(clusters) -> None:
    kv, _ = clusters
    queries = ["item05", "item30", "item59", "item05"]
    meta_kv = KeyedEmbeddings(kv.vectors, kv.keys, metadata=pd.DataFrame({"n_ratings": range(60)}))
    for kwargs in ({}, {"restrict": [f"item{i:02d}" for i in range(0, 60, 2)]}, {"min_count": 25}):
        batch = meta_kv.most_similar_batch(queries, topn=7, **kwargs)
        single = pd.concat(
            [meta_kv.most_similar(q, topn=7, **kwargs).assign(query=q) for q in queries],
            ignore_index=True,
        )[["query", "key", "similarity"]]
        assert list(batch.columns) == ["query", "key", "similarity"]
        assert batch["query"].tolist() == single["query"].tolist()
        assert batch["key"].tolist() == single["key"].tolist()
        np.testing.assert_allclose(batch["similarity"], single["similarity"], atol=1e-6)


def _planted_ties() -> tuple[KeyedEmbeddings, dict[int, list[int]]]:
    """Unit vectors with four entries of +-0.5: every cosine is a multiple of 0.25, exact
    in float32 in any summation order, so single and batch answers must agree bit for bit.

    Rows come in groups of three copies of one vector (keys 1000 + 3g, +1, +2, stored
    far apart); each query's answer is known: its two copies (cosine 1), then the copies
    of the vectors nearest to it, equal scores in key-row order.
    """
    rng = np.random.default_rng(7)
    base = np.zeros((40, 16), dtype=np.float32)
    for g in range(40):
        base[g, rng.choice(16, 4, replace=False)] = rng.choice([-0.5, 0.5], 4)
    vectors = np.concatenate([base, base, base])  # copy c of group g at row g + 40 c
    keys = [1000 + 3 * g + c for c in range(3) for g in range(40)]
    copies = {
        1000 + 3 * g + c: [1000 + 3 * g + o for o in range(3) if o != c]
        for g in range(40)
        for c in range(3)
    }
    return KeyedEmbeddings(vectors, keys, index="exact"), copies


def test_batch_equals_single_calls_exactly_on_planted_ties() -> None:
    kv, copies = _planted_ties()
    queries = [1000, 1041, 1119, np.int64(1062), 1000]
    for kwargs in ({}, {"restrict": list(range(1000, 1120, 2))}):
        batch = kv.most_similar_batch(queries, topn=9, **kwargs)
        single = pd.concat(
            [kv.most_similar(q, topn=9, **kwargs).assign(query=int(q)) for q in queries],
            ignore_index=True,
        )[["query", "key", "similarity"]]
        pd.testing.assert_frame_equal(batch, single, check_exact=True)
    for q in (1000, 1041, 1119):
        got = kv.most_similar(q, topn=9)
        assert got["key"].tolist()[:2] == copies[q]  # the copies first, lower row first
        assert got["similarity"].tolist()[:2] == [1.0, 1.0]
        # equal scores go to the lower row (copy 0 of every group before copy 1, 2)
        rows = kv.keys.indices(got["key"].tolist())
        scores = got["similarity"].to_numpy()
        for i in range(len(rows) - 1):
            assert scores[i] > scores[i + 1] or rows[i] < rows[i + 1]
        # the brute force over every other row, by (score descending, row)
        unit = kv.get_vector(q, norm=True)
        others = np.array([r for r in range(len(kv)) if r != kv.index(q)])
        sims = kv._unit[others] @ unit
        want = others[np.lexsort((others, -sims))[:9]]
        assert rows.tolist() == want.tolist()


def test_batch_key_lookup_matches_single_lookups() -> None:
    kv, _ = _planted_ties()
    assert kv._rows([1000, np.int32(1003), 1119]).tolist() == [0, 1, 119]
    assert kv._rows(["1000", 1003]).tolist() == [0, 1]  # text of an int key, as _row
    for bad in ([1000, 5], [1000, True], [1000, 1.0], [1000, 2**70]):
        with pytest.raises(UnknownIDError):
            kv.most_similar_batch(bad)
        with pytest.raises(UnknownIDError):
            kv._row(bad[1])


# ---------------------------------------------------------------- restriction
def test_restrict_and_min_count(movies: KeyedEmbeddings) -> None:
    got = movies.most_similar(1, topn=10, restrict=[50, 172, 1])
    assert set(got["key"]) == {50, 172}  # the query stays excluded even when listed
    popular = movies.most_similar(1, topn=10, min_count=300)
    assert set(popular["key"]) == {50, 172, 4973}
    both = movies.most_similar(1, topn=10, min_count=300, restrict=[50, 12])
    assert both["key"].tolist() == [50]
    cos = movies.most_similar_cosmul(1, topn=10, min_count=300)
    assert set(cos["key"]) == {50, 172, 4973}
    vec = movies.similar_by_vector(movies[1], topn=10, restrict=[1, 12])
    assert set(vec["key"]) == {1, 12}
    assert movies.most_similar(1, topn=5, min_count=10_000).empty


def test_restriction_errors(movies: KeyedEmbeddings, small: KeyedEmbeddings) -> None:
    with pytest.raises(ValueError, match="min_count=5 needs a metadata column of counts"):
        small.most_similar(10, min_count=5)
    with pytest.raises(UnknownIDError, match="unknown key ID"):
        movies.most_similar(1, restrict=[99999])
    with pytest.raises(TypeError, match=r"restrict=\[50\]"):
        movies.most_similar(1, restrict=50)
    with pytest.raises(ValueError, match="min_count="):
        movies.most_similar(1, min_count=True)


# ---------------------------------------------------------------- other queries
def test_similar_by_vector(small: KeyedEmbeddings) -> None:
    got = small.similar_by_vector([2.0, 2.0], topn=2)
    assert got["key"].tolist() == [20, 10] or got["key"].tolist() == [20, 30]
    assert got["similarity"].iloc[0] == pytest.approx(1.0)  # the vector's own key is not excluded
    assert 20 not in small.similar_by_vector([2.0, 2.0], exclude=[20])["key"].tolist()
    with pytest.raises(ValueError, match=r"vector has shape \(3,\); expected \(2,\)"):
        small.similar_by_vector([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="NaN"):
        small.similar_by_vector([np.nan, 1.0])


def test_most_similar_cosmul_formula(small: KeyedEmbeddings) -> None:
    got = small.most_similar_cosmul(positive=[20, 30], negative=[10], topn=10)
    u = small._unit.astype(np.float64)
    score = ((1 + u @ u[1]) / 2) * ((1 + u @ u[2]) / 2) / ((1 + u @ u[0]) / 2 + 1e-6)
    expected = {40: score[3], 50: score[4]}
    assert got["key"].tolist() == sorted(expected, key=lambda k: -expected[k])
    np.testing.assert_allclose(
        got["similarity"], sorted(expected.values(), reverse=True), rtol=1e-6
    )


def test_each_method_returns_one_type(small: KeyedEmbeddings) -> None:
    for frame in (
        small.most_similar(10),
        small.most_similar(10, restrict=[]),
        small.most_similar_cosmul(10),
        small.similar_by_vector([1.0, 0.0]),
        small.most_similar_batch([10]),
        small.rank_by_centrality([10, 20]),
    ):
        assert isinstance(frame, pd.DataFrame)
    assert small.most_similar(10, restrict=[]).empty


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda kv: kv.most_similar(10, topn=0), ValueError, "topn=0: expected an integer >= 1"),
        (lambda kv: kv.most_similar(10, topn=True), ValueError, "topn=True"),
        (lambda kv: kv.most_similar(10, topn=2.5), ValueError, "topn=2.5"),
        (lambda kv: kv.most_similar(), ValueError, "positive= and negative= are both empty"),
        (lambda kv: kv.most_similar_cosmul([], []), ValueError, "both empty"),
        (lambda kv: kv.most_similar(np.array([1.0, 0.0])), TypeError, "similar_by_vector"),
        (lambda kv: kv.most_similar_batch([]), ValueError, "no queries"),
        (lambda kv: kv.doesnt_match([10]), ValueError, "at least 2"),
        (lambda kv: kv.rank_by_centrality([]), ValueError, "no keys"),
        (lambda kv: kv.similarity(10, 99), UnknownIDError, r"unknown key ID \(first: 99\)"),
        (lambda kv: kv.most_similar([1.5]), UnknownIDError, "is not a key"),
        (lambda kv: kv.most_similar(1.5), TypeError, "positive=1.5: expected a key"),
        (lambda kv: kv.build_index("hnsw"), ValueError, "index='hnsw'"),
    ],
)
def test_bad_input_one_line_errors(small: KeyedEmbeddings, call, error, match) -> None:
    with pytest.raises(error, match=match) as info:
        call(small)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- labels
def test_find_is_forgiving(movies: KeyedEmbeddings) -> None:
    got = movies.find("star wars")
    assert list(got.columns) == ["key", "label", "score"]
    assert got["key"].tolist()[:2] == [50, 2628]  # exact (year-insensitive) first
    assert got["score"].is_monotonic_decreasing
    assert movies.find("AMELIE")["key"].iloc[0] == 4973  # case and accents
    assert movies.find("the usual suspects (1995)")["key"].iloc[0] == 12  # article, year
    assert movies.find("star-wars!")["key"].iloc[0] == 50  # punctuation
    assert movies.find("Toy Stroy")["key"].iloc[0] == 1  # difflib close match
    assert movies.find("hamlet")["key"].tolist()[:2] == [1412, 1411]  # tie: more ratings first
    assert movies.find("zzzzqqq").empty


def test_resolve_labels(movies: KeyedEmbeddings) -> None:
    assert movies.resolve("toy story") == 1
    assert movies.resolve("Star Wars") == 50  # exact beats the substring match of Episode I
    assert movies.resolve("phantom menace") == 2628  # the only label containing it
    assert movies.resolve("hamlet (1996)") == 1412
    assert movies.resolve(1412) == 1412
    assert movies.most_similar("Toy Story (1995)", topn=3)["key"].tolist() == (
        movies.most_similar(1, topn=3)["key"].tolist()
    )
    assert movies.get_label("empire strikes back") == "Empire Strikes Back, The (1980)"


def test_ambiguous_and_unknown_labels_raise_one_line(movies: KeyedEmbeddings) -> None:
    with pytest.raises(
        UnknownIDError, match=r"ambiguous label 'hamlet'.*'Hamlet \(1990\)' \(key 1411\)"
    ) as info:
        movies.resolve("hamlet")
    assert "\n" not in str(info.value)
    with pytest.raises(UnknownIDError, match="closest: 'Toy Story \\(1995\\)' \\(key 1\\)"):
        movies.most_similar("Toy Stroy")
    with pytest.raises(UnknownIDError, match="no label is close"):
        movies.resolve("qqqqqq")
    with pytest.raises(ValueError, match="no letters or digits"):
        movies.find("!!!")


def test_key_wins_over_label() -> None:
    kv = KeyedEmbeddings(np.eye(3), ["b", "x", "y"], labels=["y", "b", "c"])
    assert kv.resolve("b") == "b"  # a known key is that key, even if it is also a label
    assert kv.resolve("c") == "y"
    assert KeyedEmbeddings(np.eye(2), ["a", "b"]).find("a")["key"].tolist() == ["a"]


def test_without_labels_exact_and_partial_ids() -> None:
    """No labels: find() and every key-taking method search the IDs instead."""
    keys = ["SKU-0042", "SKU-0043", "TEA-7", "tea-70"]
    kv = KeyedEmbeddings(np.eye(4), keys)
    assert kv.resolve("SKU-0042") == "SKU-0042"
    assert kv.resolve("0042") == "SKU-0042"  # part of one ID
    assert kv.resolve("tea-7") == "TEA-7"  # case ignored; the exact ID beats 'tea-70'
    assert kv.most_similar("0043", topn=1)["key"].tolist() != ["SKU-0043"]
    found = kv.find("sku")
    assert found["key"].tolist() == ["SKU-0042", "SKU-0043"]
    assert found["label"].tolist() == ["SKU-0042", "SKU-0043"]
    assert kv.find("TEA-7")["score"].tolist()[0] == 1.0
    assert kv.find("zzz").empty
    with pytest.raises(UnknownIDError, match=r"ambiguous ID 'SKU': 2 IDs contain it"):
        kv.resolve("SKU")
    with pytest.raises(UnknownIDError, match="no key contains it") as info:
        kv.resolve("coffee")
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="empty"):
        kv.find("  ")
    ints = KeyedEmbeddings(np.eye(3), [50, 150, 7])
    assert ints.resolve("50") == 50 and ints.resolve("15") == 150
    assert ints.find("50")["key"].tolist() == [50, 150]
    with pytest.raises(UnknownIDError):
        ints.resolve(99)  # an int that is not a key is never matched partially


# ---------------------------------------------------------------- gensim
def _assert_same_as_gensim(kv: KeyedEmbeddings, queries: list, topn: int = 10) -> None:
    g = kv.to_gensim()
    for q in queries:
        ours = kv.most_similar(q, topn=topn)
        theirs = g.most_similar(str(q), topn=topn)
        assert [str(k) for k in ours["key"]] == [k for k, _ in theirs]
        np.testing.assert_allclose(ours["similarity"], [s for _, s in theirs], atol=1e-5)
    a, b, c = (str(q) for q in queries[:3])
    ours = kv.most_similar(positive=queries[:2], negative=queries[2:3], topn=topn)
    theirs = g.most_similar(positive=[a, b], negative=[c], topn=topn)
    assert [str(k) for k in ours["key"]] == [k for k, _ in theirs]
    ours = kv.most_similar_cosmul(positive=queries[:2], negative=queries[2:3], topn=topn)
    with warnings.catch_warnings():  # gensim 4's cosmul calls its own deprecated init_sims
        warnings.simplefilter("ignore", DeprecationWarning)
        theirs = g.most_similar_cosmul(positive=[a, b], negative=[c], topn=topn)
        theirs_one = g.most_similar_cosmul(positive=[a], topn=topn)
    assert [str(k) for k in ours["key"]] == [k for k, _ in theirs]
    np.testing.assert_allclose(ours["similarity"], [s for _, s in theirs], rtol=1e-5)
    ours = kv.most_similar_cosmul(positive=queries[:1], topn=topn)
    np.testing.assert_allclose(ours["similarity"], [s for _, s in theirs_one], rtol=1e-5)
    assert (
        kv.doesnt_match(queries[:4])
        == queries[
            [str(q) for q in queries[:4]].index(g.doesnt_match([str(q) for q in queries[:4]]))
        ]
    )


def test_to_gensim_random_matrix() -> None:
    rng = np.random.default_rng(3)
    kv = KeyedEmbeddings(rng.normal(size=(200, 12)), [f"k {i}" for i in range(200)])
    g = kv.to_gensim()
    assert len(g) == 200 and g.vector_size == 12
    np.testing.assert_array_equal(g["k 7"], kv["k 7"])
    _assert_same_as_gensim(kv, ["k 0", "k 1", "k 2", "k 3"])


def test_to_gensim_trained_model() -> None:
    ds, _ = embedlab.synthetic_ratings(150, 100, 6_000, random_state=0)
    mf = embedlab.MatrixFactorization(
        embedding_dim=16, epochs=3, random_state=0, n_threads=1, holdout=0.0
    )  # holdout=0.0: no "factors do not beat the biases" warning on 3 epochs
    kv = mf.fit(ds, progress=False).item_embeddings()
    assert isinstance(kv, KeyedEmbeddings) and kv.keys.kind == "int"
    assert kv.labels is not None and "n_ratings" in kv.metadata.columns
    _assert_same_as_gensim(kv, [int(k) for k in list(kv.keys)[:4]])
    assert kv.most_similar(kv.labels[0], topn=3)["key"].tolist() == (
        kv.most_similar(kv.keys.id(0), topn=3)["key"].tolist()
    )
    assert (
        kv.most_similar(1, min_count=60)["key"].map(
            dict(zip(kv.keys, kv.metadata["n_ratings"], strict=True))
        )
        >= 60
    ).all()


# ---------------------------------------------------------------- result frames
def test_result_frames_have_the_dtypes_pandas_infers(monkeypatch) -> None:
    """Frames built from ready columns equal those of ``pd.DataFrame({...})``, dtypes too."""
    rng = np.random.default_rng(3)
    vectors = rng.integers(-2, 3, size=(40, 3)).astype(float)  # many ties
    labels = [None if i % 5 == 0 else f"Film {i}" for i in range(40)]
    for keys in ([f"k{i}" for i in range(40)], list(range(100, 140))):
        kv = KeyedEmbeddings(vectors, keys, labels=labels)
        queries = [keys[0], keys[7], keys[13], keys[0]]
        singles = []
        for q in queries:
            got = kv.most_similar(q, topn=6)
            rows = kv.keys.indices(got["key"].tolist())
            want = pd.DataFrame(
                {
                    "key": kv.keys.ids(rows),
                    "label": kv.labels[rows],
                    "similarity": got["similarity"],
                }
            )
            pd.testing.assert_frame_equal(got, want)
            singles.append(got.assign(query=q))
        single = pd.concat(singles, ignore_index=True)[["query", "key", "label", "similarity"]]
        batch = kv.most_similar_batch(queries, topn=6)
        pd.testing.assert_frame_equal(batch, single)
        monkeypatch.setattr(embedlab.embeddings._keyed, "_BATCH_ANSWERS", 12)  # 2 queries at a time
        pd.testing.assert_frame_equal(kv.most_similar_batch(queries, topn=6), batch)
        monkeypatch.undo()
        # only unlabelled answers: an object column of None, as pandas infers it
        alone = KeyedEmbeddings(vectors[:2], keys[:2], labels=[None, "x"]).most_similar(keys[1])
        assert alone["label"].dtype == object and alone["label"].tolist() == [None]


# ---------------------------------------------------------------- odd numbers (issue 18)
def _lookups(kv: KeyedEmbeddings, key: object):
    """The public lookups that take ``topn``/``n`` and ``min_count``, as (name, call)."""
    return [
        ("most_similar", lambda **kw: kv.most_similar(key, **kw)),
        ("most_similar_batch", lambda **kw: kv.most_similar_batch([key], **kw)),
        ("most_similar_cosmul", lambda **kw: kv.most_similar_cosmul(key, **kw)),
        ("similar_by_vector", lambda **kw: kv.similar_by_vector(kv[key], **kw)),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        -1,
        -(10**30),
        -0.5,
        float("nan"),
        float("inf"),
        -float("inf"),
        np.float32("nan"),
        True,
        np.bool_(False),
        "3",
        b"3",
        [3],
        3j,
    ],
    ids=repr,
)
def test_min_count_that_is_no_count_is_a_value_error_naming_it(movies, small, bad) -> None:
    """Was TypeError from np.isfinite for some; negative ones were taken as 'no minimum'."""
    for kv in (movies, small):  # checked before the metadata column is looked for
        for name, call in _lookups(kv, kv.keys.id(0)):
            with pytest.raises(
                ValueError, match=r"^min_count=.*: expected a number of ratings >= 0"
            ) as info:
                call(min_count=bad)
            assert "\n" not in str(info.value), name


@pytest.mark.parametrize(
    "huge", [2**63, 2**64, 10**30, 10**400, np.uint64(2**64 - 1), 1e300], ids=repr
)
def test_a_huge_min_count_admits_no_key(movies, huge) -> None:
    """Decided: a count past every item's is valid and leaves nothing (was TypeError from
    np.isfinite for 10**30), as min_count=10_000 does."""
    for name, call in _lookups(movies, 1):
        assert call(min_count=huge).empty, name


def test_min_count_ints_and_floats_still_filter(movies) -> None:
    for threshold in (300, np.int64(300), 300.0, np.float32(299.5), 0, 0.0):
        got = set(movies.most_similar(1, topn=10, min_count=threshold)["key"])
        assert got == ({50, 172, 4973} if threshold else set(movies.keys) - {1})


@pytest.mark.parametrize(
    "bad",
    [
        0,
        -(10**30),
        float("nan"),
        float("inf"),
        True,
        np.bool_(True),
        "3",
        3.0,
        np.float64(2.0),
        None,
        [3],
    ],
    ids=repr,
)
def test_topn_that_is_no_count_is_a_value_error_naming_it(movies, bad) -> None:
    for name, call in _lookups(movies, 1):
        with pytest.raises(ValueError, match=r"^topn=.*: expected an integer >= 1") as info:
            call(topn=bad)
        assert "\n" not in str(info.value), name
    with pytest.raises(ValueError, match=r"^n=.*: expected an integer >= 1"):
        movies.find("star", n=bad)


@pytest.mark.parametrize("huge", [2**63, 2**64, 10**30, np.uint64(2**64 - 1)], ids=repr)
def test_a_huge_topn_returns_every_candidate(movies, small, huge) -> None:
    for name, call in _lookups(movies, 1):
        got = call(topn=huge)
        assert len(got) in (len(movies) - 1, len(movies)), name  # similar_by_vector keeps the query
    assert len(small.find("a", n=huge)) >= 1


def test_huge_and_odd_keys_are_unknown_ids(movies, small) -> None:
    for kv in (movies, small):
        for key in (10**30, -(10**30), np.uint64(2**64 - 1), "١٢", "1_0", "٥٠"):
            with pytest.raises(UnknownIDError) as info:
                kv.most_similar(key)
            assert "\n" not in str(info.value)
            assert key not in kv
        with pytest.raises(UnknownIDError, match="unknown key ID"):
            kv.most_similar(kv.keys.id(0), restrict=[10**30])
