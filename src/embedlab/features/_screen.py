"""``interactions="auto"``: which pairs of columns get a table of their own.

A pair earns one when the additive model (every level's own effect, see
:mod:`embedlab.features._additive`) leaves a residual that the pair's combined cells
explain. The test is cross-fitted, so a pair with many sparse cells cannot win by
fitting noise: the training rows are split in two halves at random, each half's
residual means per cell (shrunk toward 0 by ``SHRINK`` rows) predict the other half's
residuals, and the pair's gain is the share of the residual sum of squares they remove
(negative for cells that only carry noise). Only pairs whose seen cells hold at least
``MIN_CELL_ROWS`` training rows on average are candidates. Pairs are taken greedily: the best pair
with a gain of at least ``MIN_GAIN``, then its shrunk cell means are taken off the
residual and the rest are scored again, up to ``MAX_PAIRS``. Above ``SCREEN_ROWS``
training rows the screen runs on a seeded sample of that many.

Regression screens the residual of the least-squares fit; classification the
residual of the probabilities (``y - p``, one column per class for multiclass), the
gradient a pair's effect would follow. On flights this picks ``dest×month`` (the
season's winds on each route: 10 % of the additive model's residual, then nothing
else above 2 %), and nothing on hotel_rates (its best pair, ``arrival_date×market_segment``,
4.5 %, has 8 rows a cell) or seattlepets (animal names × zip codes: -0.2 %).
"""

from __future__ import annotations

import itertools

import numpy as np

from embedlab.features._additive import AdditiveFit, additive_predict, probabilities

__all__ = [
    "MAX_PAIRS",
    "MIN_CELL_ROWS",
    "MIN_GAIN",
    "MIN_ROWS",
    "SCREEN_ROWS",
    "choose_pairs",
    "residual",
]

#: The share of the residual sum of squares a pair must remove, out of sample.
MIN_GAIN = 0.02
#: At most this many pairs are chosen.
MAX_PAIRS = 3
#: Cell means are shrunk as if each cell had this many more rows with residual 0.
SHRINK = 20.0
#: Fewer training rows than this: no pair is chosen (the halves are too small to tell).
MIN_ROWS = 2000
#: More training rows than this: the screen (its additive fit included) runs on a seeded
#: sample of this many, which bounds its cost (each candidate pair costs two passes over
#: the rows; 190 pairs of 20 columns took 2.5 s at 200,000 rows).
SCREEN_ROWS = 100_000
#: Pairs whose seen cells hold fewer training rows than this on average are not
#: candidates: the network's MLP learns a sparse pair's interaction from the two
#: columns' vectors, and a table of its own would take it from them (a planted
#: 5,000 levels × 2 contexts at 4.8 rows a cell: the levels' vectors no longer
#: placed similar levels together).
MIN_CELL_ROWS = 20


def residual(
    fit: AdditiveFit, codes: np.ndarray, numeric: np.ndarray, y: np.ndarray, objective: str
) -> np.ndarray:
    """``[rows, n_out]`` residual of the additive model: ``y - f`` (regression) or
    ``y - p`` (the predicted probabilities; one-hot ``y`` for multiclass)."""
    f = additive_predict(fit.effects, fit.intercept, fit.numeric, codes, numeric)
    if objective == "regression":
        return np.asarray(y, dtype=np.float64)[:, None] - f
    if objective == "binary":
        return np.asarray(y, dtype=np.float64)[:, None] - probabilities(f, objective)
    p = probabilities(f, objective)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), np.asarray(y, dtype=np.int64)] = 1.0
    return onehot - p


def _cells(codes: np.ndarray, sizes: list[int], a: int, b: int) -> tuple[np.ndarray, int, int]:
    """Each row's cell of the pair ``(a, b)`` as a code in ``range(n_codes)``, the number
    of codes and the number of cells seen."""
    cell = codes[:, a] * int(sizes[b]) + codes[:, b]
    if int(sizes[a]) * int(sizes[b]) <= 4 * len(cell) + 1024:
        n_codes = int(sizes[a]) * int(sizes[b])
        return cell, n_codes, int(np.count_nonzero(np.bincount(cell, minlength=n_codes)))
    _, inverse = np.unique(cell, return_inverse=True)
    n_cells = int(inverse.max()) + 1
    return inverse.ravel(), n_cells, n_cells


def _shrunk_means(cell: np.ndarray, n_cells: int, r: np.ndarray) -> np.ndarray:
    """``[n_cells, n_out]`` residual sums per cell over (rows + SHRINK)."""
    count = np.bincount(cell, minlength=n_cells) + SHRINK
    return np.stack(
        [np.bincount(cell, r[:, k], minlength=n_cells) / count for k in range(r.shape[1])],
        axis=1,
    )


def _gain(cell: np.ndarray, n_cells: int, r: np.ndarray, half: np.ndarray) -> float:
    """The residual sum of squares that each half's shrunk cell means remove from the other's."""
    gain = 0.0
    for fit_rows in (half, ~half):
        means = _shrunk_means(cell[fit_rows], n_cells, r[fit_rows])
        pred, held = means[cell[~fit_rows]], r[~fit_rows]
        gain += float(2.0 * np.sum(held * pred) - np.sum(pred * pred))
    return gain


def choose_pairs(
    codes: np.ndarray, sizes: list[int], r: np.ndarray, *, seed: int
) -> list[tuple[int, int]]:
    """Column pairs ``(a, b)`` (``a < b``, positions in ``codes``) worth a table, best first.

    Args:
        codes: ``[rows, columns]`` level codes of the categorical columns.
        sizes: Levels per column (codes are below these).
        r: ``[rows, n_out]`` residual of the additive model (:func:`residual`).
        seed: Seed of the random halves.
    """
    if len(codes) < MIN_ROWS or codes.shape[1] < 2:
        return []
    half = np.random.default_rng(seed).random(len(codes)) < 0.5
    r = np.array(r, dtype=np.float64)
    total = float(np.sum(r * r))
    chosen: list[tuple[int, int]] = []
    candidates = {}
    for a, b in itertools.combinations(range(codes.shape[1]), 2):
        cell, n_codes, seen = _cells(codes, sizes, a, b)
        if len(codes) >= MIN_CELL_ROWS * seen:
            candidates[(a, b)] = (cell, n_codes)
    while candidates and len(chosen) < MAX_PAIRS and total > 0:
        scored = [
            (_gain(cell, n_codes, r, half) / total, pair)
            for pair, (cell, n_codes) in candidates.items()
        ]
        gain, best = max(scored)
        if gain < MIN_GAIN:
            break
        chosen.append(best)
        cell, n_codes = candidates.pop(best)
        r = r - _shrunk_means(cell, n_codes, r)[cell]
    return chosen
