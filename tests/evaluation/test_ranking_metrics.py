"""Rating and ranking metrics: hand-computed numbers, edge cases, an independent reference."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab.evaluation import (
    hit_rate_at_k,
    mae,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    rmse,
)
from embedlab.exceptions import DataError

# ------------------------------------------------------------------ the 3-user, 5-item example
# Test ratings (relevant = rating >= 4):
#   u1: a 5, b 4, c 2, d 5  -> R = {a, b, d}
#   u2: c 4, e 3            -> R = {c}
#   u3: a 3, b 1            -> R = {} : not evaluated
# Top-3 lists:  u1 [a, c, d] -> hits 1 0 1 ; u2 [a, b, c] -> hits 0 0 1 ; u3 [e, d, a]
TEST = pd.DataFrame(
    {
        "user": ["u1"] * 4 + ["u2"] * 2 + ["u3"] * 2,
        "item": ["a", "b", "c", "d", "c", "e", "a", "b"],
        "rating": [5, 4, 2, 5, 4, 3, 3, 1],
    }
)
USERS = ["u1", "u2", "u3"]
RECS = np.array([["a", "c", "d"], ["a", "b", "c"], ["e", "d", "a"]], dtype=object)


def hand_numbers(k: int = 3) -> dict[str, float]:
    d = [1 / math.log2(j + 2) for j in range(3)]  # 1, 0.6309, 0.5
    u1 = {
        "precision": 2 / k,
        "recall": 2 / 3,
        "ndcg": (d[0] + d[2]) / (d[0] + d[1] + d[2]),  # IDCG over min(k, 3) = 3 relevant
        "map": (1 / 1 + 2 / 3) / min(k, 3),  # hits at ranks 1 and 3: P@1 = 1, P@3 = 2/3
        "mrr": 1.0,
        "hit_rate": 1.0,
    }
    u2 = {
        "precision": 1 / k,
        "recall": 1.0,
        "ndcg": d[2] / d[0],  # one relevant item, found at rank 3
        "map": (1 / 3) / min(k, 1),
        "mrr": 1 / 3,
        "hit_rate": 1.0,
    }
    return {f"{name}@{k}": (u1[name] + u2[name]) / 2 for name in u1}


def test_hand_computed_example() -> None:
    got = ranking_metrics(RECS, TEST, k=3, users=USERS)
    want = hand_numbers(3)
    assert got.pop("n_users") == 2  # u3 has no relevant test item: excluded
    assert got == pytest.approx(want, rel=1e-12)
    assert want == pytest.approx(
        {
            "precision@3": 0.5,
            "recall@3": 5 / 6,
            "ndcg@3": 0.601959,
            "map@3": 4 / 9,
            "mrr@3": 2 / 3,
            "hit_rate@3": 1.0,
        },
        abs=1e-6,
    )


@pytest.mark.parametrize(
    ("func", "name"),
    [
        (precision_at_k, "precision"),
        (recall_at_k, "recall"),
        (ndcg_at_k, "ndcg"),
        (map_at_k, "map"),
        (mrr_at_k, "mrr"),
        (hit_rate_at_k, "hit_rate"),
    ],
)
def test_single_metric_functions_agree_with_ranking_metrics(func, name) -> None:
    assert func(RECS, TEST, 3, users=USERS) == pytest.approx(hand_numbers(3)[f"{name}@3"])


def test_dataframe_input_any_row_order_and_without_rank() -> None:
    frame = pd.DataFrame({"user": np.repeat(USERS, 3), "item": RECS.ravel(), "rank": [1, 2, 3] * 3})
    shuffled = frame.sample(frac=1.0, random_state=0)
    assert ranking_metrics(shuffled, TEST, k=3) == pytest.approx(
        ranking_metrics(RECS, TEST, 3, users=USERS)
    )
    # Without 'rank' the row order within a user is the ranking.
    assert ranking_metrics(frame.drop(columns="rank"), TEST, k=3) == pytest.approx(
        ranking_metrics(frame, TEST, k=3)
    )


def test_k_cuts_lists_and_k_larger_than_lists() -> None:
    # k = 1: only the first item counts. u1 hits (a), u2 misses.
    got = ranking_metrics(RECS, TEST, k=1, users=USERS)
    assert got["precision@1"] == pytest.approx(0.5)
    assert got["recall@1"] == pytest.approx((1 / 3 + 0) / 2)
    assert got["map@1"] == pytest.approx((1 / min(1, 3) + 0) / 2)
    assert got["hit_rate@1"] == pytest.approx(0.5)
    # k = 5 > list length 3: precision divides by k; the rest do not change.
    five = ranking_metrics(RECS, TEST, k=5, users=USERS)
    assert five["precision@5"] == pytest.approx((2 / 5 + 1 / 5) / 2)
    three = hand_numbers(3)
    for name in ("recall", "ndcg", "map", "mrr", "hit_rate"):
        assert five[f"{name}@5"] == pytest.approx(three[f"{name}@3"])


def test_padding_index_keys_and_interactions_test() -> None:
    # The same example with integer indices: users 0..2, items a..e -> 0..4, padding -1.
    idx = {c: i for i, c in enumerate("abcde")}
    test = TEST.assign(
        user=TEST["user"].map({"u1": 0, "u2": 1, "u3": 2}), item=TEST["item"].map(idx)
    )
    recs = np.vectorize(idx.get)(RECS)
    base = ranking_metrics(recs, test, k=3)  # users=None: row i is user i
    assert base == pytest.approx(ranking_metrics(RECS, TEST, 3, users=USERS))
    # Padding is a miss at its rank: u2's hit stays at rank 3.
    padded = recs.copy()
    padded[1, 1] = -1
    assert ranking_metrics(padded, test, k=3) == pytest.approx(base)
    padded[1, 2] = -1  # now u2 has no hit at all
    assert ranking_metrics(padded, test, k=3)["hit_rate@3"] == pytest.approx(0.5)
    # An Interactions test set: raw IDs by default, indices with keys="index".
    ds = el.Interactions.from_ids(TEST["user"], TEST["item"], TEST["rating"].astype(float))
    assert ranking_metrics(RECS, ds, 3, users=USERS) == pytest.approx(base)
    item_rows = ds.items.indices(list("abcde"))
    recs_idx = np.asarray(item_rows)[recs]
    user_rows = ds.users.indices(USERS)
    assert ranking_metrics(recs_idx, ds, 3, users=user_rows, keys="index") == pytest.approx(base)


def test_evaluated_user_without_list_scores_zero_and_threshold_changes_relevance() -> None:
    only_u1 = ranking_metrics(RECS[:1], TEST, k=3, users=["u1"])
    assert only_u1["n_users"] == 2  # u2 is evaluated although it got no list
    assert only_u1["precision@3"] == pytest.approx((2 / 3 + 0) / 2)
    # threshold 5: only u1's a and d are relevant; u2 drops out.
    strict = ranking_metrics(RECS, TEST, k=3, threshold=5.0, users=USERS)
    assert strict["n_users"] == 1
    assert strict["recall@3"] == pytest.approx(1.0)
    # Nobody relevant: NaN, not a crash.
    none = ranking_metrics(RECS, TEST, k=3, threshold=6.0, users=USERS)
    assert none["n_users"] == 0 and math.isnan(none["ndcg@3"])


def test_against_sklearn_ndcg_score_binary_relevance() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    n_users, n_items, k = 40, 30, 7
    relevance = (rng.random((n_users, n_items)) < 0.2).astype(float)
    relevance[relevance.sum(axis=1) == 0, 0] = (
        1.0  # sklearn scores all-zero rows as 0; we exclude them
    )
    scores = rng.random((n_users, n_items))  # distinct scores: no ties
    recs = np.argsort(-scores, axis=1)[:, :k]
    u, i = np.nonzero(relevance >= 0)
    test = pd.DataFrame({"user": u, "item": i, "rating": np.where(relevance[u, i] > 0, 5.0, 1.0)})
    ours = ndcg_at_k(recs, test, k)
    assert ours == pytest.approx(sklearn_metrics.ndcg_score(relevance, scores, k=k), rel=1e-12)


def brute_force(recs: np.ndarray, rel_sets: list[set[int]], k: int) -> dict[str, float]:
    """A slow, obvious implementation for the randomized check."""
    sums = dict.fromkeys(("precision", "recall", "ndcg", "map", "mrr", "hit_rate"), 0.0)
    n = 0
    for row, rel in zip(recs, rel_sets, strict=True):
        if not rel:
            continue
        n += 1
        top = [x for x in row[:k]]
        hits = [1 if x in rel else 0 for x in top]
        sums["precision"] += sum(hits) / k
        sums["recall"] += sum(hits) / len(rel)
        dcg = sum(h / math.log2(j + 2) for j, h in enumerate(hits))
        sums["ndcg"] += dcg / sum(1 / math.log2(j + 2) for j in range(min(k, len(rel))))
        ap = sum(h * sum(hits[: j + 1]) / (j + 1) for j, h in enumerate(hits))
        sums["map"] += ap / min(k, len(rel))
        sums["mrr"] += next((1 / (j + 1) for j, h in enumerate(hits) if h), 0.0)
        sums["hit_rate"] += float(any(hits))
    return {f"{name}@{k}": v / n for name, v in sums.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_cases_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_users, n_items, k = 50, 40, 8
    recs = np.stack([rng.permutation(n_items)[:12] for _ in range(n_users)])
    rating = rng.integers(1, 6, size=(n_users, n_items)).astype(float)
    mask = rng.random((n_users, n_items)) < 0.3
    u, i = np.nonzero(mask)
    test = pd.DataFrame({"user": u, "item": i, "rating": rating[u, i]})
    rel_sets = [set(i[(u == row) & (rating[u, i] >= 4)].tolist()) for row in range(n_users)]
    got = ranking_metrics(recs, test, k)
    assert got.pop("n_users") == sum(1 for s in rel_sets if s)
    assert got == pytest.approx(brute_force(recs, rel_sets, k), rel=1e-12)


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(DataError, match="more than once"):
        ranking_metrics(np.array([["a", "a", "b"]], dtype=object), TEST, 3, users=["u1"])
    with pytest.raises(DataError, match="more than one row"):
        ranking_metrics(RECS[:2], TEST, 3, users=["u1", "u1"])
    with pytest.raises(DataError, match=r"users: got 2 user keys for 3 rows"):
        ranking_metrics(RECS, TEST, 3, users=["u1", "u2"])
    with pytest.raises(DataError, match=r"k=0: expected a positive integer"):
        ranking_metrics(RECS, TEST, 0, users=USERS)
    with pytest.raises(DataError, match="lacks column"):
        ranking_metrics(RECS, TEST.drop(columns="rating"), 3, users=USERS)
    with pytest.raises(DataError, match="2-D array"):
        ranking_metrics(np.array([1, 2, 3]), TEST, 3)
    with pytest.raises(DataError, match="'rating' holds 1 missing"):
        ranking_metrics(RECS, TEST.assign(rating=[5, 4, 2, None, 4, 3, 3, 1]), 3, users=USERS)


def test_thousand_users_full_catalogue_is_vectorized() -> None:
    # 1,000 users × 1,700 items, full rankings: must stay well under a second (no per-user loop).
    rng = np.random.default_rng(0)
    recs = np.argsort(rng.random((1000, 1700)), axis=1)
    u, i = np.nonzero(rng.random((1000, 1700)) < 0.06)
    test = pd.DataFrame({"user": u, "item": i, "rating": rng.integers(1, 6, u.size)})
    got = ranking_metrics(recs, test, k=1700)
    assert got["recall@1700"] == pytest.approx(1.0) and got["hit_rate@1700"] == 1.0
    assert 0 < ranking_metrics(recs, test, k=10)["ndcg@10"] < 1


# ------------------------------------------------------------------ rating metrics
def test_rmse_mae_hand_numbers_and_float64() -> None:
    assert rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))
    assert mae([1, 2, 3], [1, 2, 5]) == pytest.approx(2 / 3)
    y = np.full(1_000_001, 3.1, dtype=np.float32)
    assert mae(y, y + np.float32(0.5)) == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([1, 2], [1, 2, 3], r"y_true has 2 values but y_pred has 3; expected one prediction"),
        ([], [], r"y_true is empty; expected at least one rating"),
        (
            [1, float("nan")],
            [1, 2],
            r"y_true holds 1 NaN or infinite value\(s\) \(first at position 1",
        ),
        ([1, 2], [1, float("inf")], r"y_pred holds 1 NaN or infinite"),
        (["a"], [1], r"y_true: expected numbers"),
    ],
)
def test_rating_metric_errors(y_true, y_pred, message) -> None:
    for func in (rmse, mae):
        with pytest.raises(ValueError, match=message):
            func(y_true, y_pred)


# Layers: settings -> data -> nn -> training -> models -> embeddings/io/evaluation/viz/features
# -> cli/web. embedlab.settings imports neither torch nor numba (its renamed-parameter helper).
_AT_IMPORT = ("embedlab.settings", "embedlab.data", "embedlab.exceptions", "embedlab.evaluation")
_LOWER_TORCH_LAYERS = ("embedlab.models", "embedlab.training", "embedlab.nn")


def _imports(tree: ast.Module) -> list[tuple[str, list[str], bool]]:
    """(module, imported names, inside a function) for every import statement of ``tree``."""
    found: list[tuple[str, list[str], bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((a.name, [], in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                module = "." * child.level + (child.module or "")
                found.append((module, [a.name for a in child.names], in_function))
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            visit(child, inner)

    visit(tree, False)
    return found


def _matches(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_evaluation_does_not_import_torch_or_higher_layers() -> None:
    """Imports are plain statements the import graph can see; torch only inside functions.

    At import time evaluation needs only the data layer, the settings helpers and the
    exceptions; the estimators (which import torch) are imported inside the functions that
    fit them, from the public namespace of their package. No ``importlib`` (imports a
    checker cannot see), no higher layer, no private module or name of another subpackage.
    """
    folder = Path(el.__file__).parent / "evaluation"
    for path in sorted(folder.glob("*.py")):
        for module, names, in_function in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.name} imports {module}"
            assert not module.startswith("."), f"{where}: use absolute imports"
            assert not _matches(module, ("torch", "importlib")), where
            assert module != "builtins" or "__import__" not in names, where
            if not _matches(module, ("embedlab",)) or _matches(module, ("embedlab.evaluation",)):
                continue
            allowed = _AT_IMPORT + (_LOWER_TORCH_LAYERS if in_function else ())
            assert _matches(module, allowed), (
                f"{where} ({'in a function' if in_function else 'at import'})"
            )
            assert not any(part.startswith("_") for part in module.split(".")), (
                f"{where}: a private module of another subpackage; import its public namespace"
            )
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{where}: private name(s) {private} of another subpackage"


def test_importing_evaluation_does_not_import_torch() -> None:
    code = (
        "import sys, embedlab.evaluation\n"
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)[:5]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
