"""``EmbeddingEncoder(interactions="auto")``: the pairs the additive model's residual asks for.

Planted: three columns ``a`` (12 levels), ``b`` (8), ``c`` (10); ``y`` is the sum of each
column's own effect plus, where asked for, an interaction of ``a`` and ``b`` (a random
value per cell, as large as the main effects), plus noise. With the interaction the
screen must pick ``a×b`` and nothing else; without it, nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from embedlab import EmbeddingEncoder
from embedlab.features import _screen
from embedlab.settings import EncoderSettings


def _planted(
    n: int, seed: int, *, interaction: float, task: str = "regression"
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = {"a": 12, "b": 8, "c": 10}
    codes = {k: rng.integers(0, s, n) for k, s in sizes.items()}
    main = {k: rng.normal(0, 1, s) for k, s in sizes.items()}
    cell = rng.normal(0, 1, (12, 8))
    f = sum(main[k][codes[k]] for k in sizes) + interaction * cell[codes["a"], codes["b"]]
    y = f + rng.normal(0, 0.5, n)
    if task == "binary":
        y = (rng.random(n) < 1 / (1 + np.exp(-f))).astype(np.int64)
    elif task == "multiclass":
        y = np.digitize(f + rng.normal(0, 0.5, n), np.quantile(f, [1 / 3, 2 / 3]))
    frame = pd.DataFrame({k: [f"{k}{v}" for v in codes[k]] for k in sizes}, dtype=object)
    return frame, y, np.stack([codes[k] for k in sizes], axis=1)


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_the_planted_pair_is_chosen_and_no_other(task) -> None:
    X, y, _ = _planted(12_000, 0, interaction=1.0, task=task)
    enc = EmbeddingEncoder(random_state=0, epochs=2).fit(X, y)
    assert enc.settings_.interactions == "auto"
    assert enc.interactions_ == [("a", "b")]
    assert enc.categorical_columns_ == ["a", "b", "c", "a×b"]
    assert any(n.startswith("a×b_effect") for n in enc.get_feature_names_out())


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_no_pair_without_an_interaction(task) -> None:
    X, y, _ = _planted(12_000, 1, interaction=0.0, task=task)
    assert EmbeddingEncoder(random_state=0, epochs=2).fit(X, y).interactions_ == []


def test_the_gain_is_the_share_of_the_residual_removed_out_of_sample() -> None:
    # residual = the cell's value + noise: each half's shrunk cell means predict the
    # other half's, removing about var(cell) / (var(cell) + var(noise)) of the residual
    rng = np.random.default_rng(2)
    n = 40_000
    codes = np.stack([rng.integers(0, 10, n), rng.integers(0, 10, n)], axis=1)
    cell = rng.normal(0, 1, (10, 10))
    r = (cell[codes[:, 0], codes[:, 1]] + rng.normal(0, 1, n))[:, None]
    half = rng.random(n) < 0.5
    codes_ab, n_codes, seen = _screen._cells(codes, [10, 10], 0, 1)
    assert (n_codes, seen) == (100, 100)
    share = _screen._gain(codes_ab, n_codes, r, half) / float(r[:, 0] @ r[:, 0])
    expected = cell.var() / (cell.var() + 1.0)
    assert share == pytest.approx(expected, abs=0.03)
    # pure noise removes nothing (a little less than nothing: the means fit noise)
    noise = rng.normal(0, 1, (n, 1))
    assert _screen._gain(codes_ab, n_codes, noise, half) < 0


def test_sparse_pairs_and_small_tables_are_not_screened() -> None:
    _X, y, codes = _planted(12_000, 3, interaction=1.0)
    r = (y - y.mean())[:, None]
    # 96 cells a pair at 12,000 rows: 125 rows a cell, a candidate
    assert _screen.choose_pairs(codes, [12, 8, 10], r, seed=0)[0] == (0, 1)
    # the same rows with more rows needed per cell than the pair has: none
    few = _screen.MIN_CELL_ROWS
    try:
        _screen.MIN_CELL_ROWS = 200
        assert _screen.choose_pairs(codes, [12, 8, 10], r, seed=0) == []
    finally:
        _screen.MIN_CELL_ROWS = few
    small = _screen.MIN_ROWS - 1
    assert _screen.choose_pairs(codes[:small], [12, 8, 10], r[:small], seed=0) == []


def test_auto_pairs_are_narrow_and_survive_save_and_load(tmp_path) -> None:
    X, y, _ = _planted(12_000, 4, interaction=1.0)
    enc = EmbeddingEncoder(random_state=0, epochs=2).fit(X, y)
    assert enc.embedding_dims_[-1] == 8  # the fast.ai rule would give 21 for 97 rows
    wide = EmbeddingEncoder(random_state=0, epochs=1, embedding_dims={"a×b": 21}).fit(X, y)
    assert wide.embedding_dims_[-1] == 21
    enc.save(tmp_path / "enc")
    back = EmbeddingEncoder.load(tmp_path / "enc")
    assert back.interactions == "auto" and back.interactions_ == [("a", "b")]
    np.testing.assert_allclose(back.transform(X[:50]), enc.transform(X[:50]), rtol=1e-6)


def test_none_turns_the_screen_off_and_the_cli_reads_auto() -> None:
    X, y, _ = _planted(12_000, 5, interaction=1.0)
    assert EmbeddingEncoder(interactions=None, epochs=1).fit(X, y).interactions_ == []
    check = next(f.metadata["check"] for f in EncoderSettings.fields() if f.name == "interactions")
    assert check.parse("interactions", "auto") == "auto"
    assert check.parse("interactions", "none") == ()
    assert check("interactions", "auto") == "auto"
    assert check("interactions", None) == ()


def test_a_large_table_is_screened_on_a_sample(monkeypatch) -> None:
    X, y, _ = _planted(12_000, 6, interaction=1.0)
    seen = []
    real = _screen.choose_pairs

    def spy(codes, sizes, r, *, seed):
        seen.append(len(codes))
        return real(codes, sizes, r, seed=seed)

    monkeypatch.setattr("embedlab.features._encoder.SCREEN_ROWS", 5000)
    monkeypatch.setattr("embedlab.features._encoder.choose_pairs", spy)
    enc = EmbeddingEncoder(random_state=0, epochs=1).fit(X, y)
    assert seen == [5000] and enc.interactions_ == [("a", "b")]
    # the pair's table and effects still come from every row
    assert enc.counts_[-1].sum() == 12_000


def test_without_a_pair_the_screen_fit_is_the_full_fits_additive_model(monkeypatch):
    # the screen fits the additive model on every row; when it chooses no pair, that
    # model is the one the effect columns need: fitted once, the same effects
    import embedlab.features._encoder as encoder_module

    calls = []
    real = encoder_module.fit_additive

    def spy(*args, **kw):
        calls.append(len(args[0]))
        return real(*args, **kw)

    monkeypatch.setattr(encoder_module, "fit_additive", spy)
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame(
        {"a": rng.integers(0, 30, n).astype(str), "b": rng.integers(0, 5, n).astype(str)}
    )
    y = rng.normal(size=30)[X["a"].astype(int)] + rng.normal(size=5)[X["b"].astype(int)]
    y = y + rng.normal(0, 0.5, n)
    common = {"random_state": 0, "epochs": 1, "cv": None}
    auto = EmbeddingEncoder(**common).fit(X, y)
    assert auto.interactions_ == [] and calls == [n]
    calls.clear()
    plain = EmbeddingEncoder(interactions=None, **common).fit(X, y)
    assert calls == [n]
    for mine, theirs in zip(auto.effects_, plain.effects_, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(auto.additive_model_[0], plain.additive_model_[0])
