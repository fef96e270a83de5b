"""The encoder's additive effects: a ridge-penalized one-hot GLM, solved directly.

The design is the one-hot levels of every categorical column (a scipy CSR matrix with
one 1 per row and column, and its transpose), the standardized numeric columns and an
intercept. Least squares is one linear solve; the logistic and softmax losses take
Newton steps with a backtracking line search, each step a linear solve. Every solve is
conjugate gradients preconditioned by the diagonal of the (weighted) normal matrix,
which for one-hot blocks is each level's (weighted) row count plus the penalty; the
softmax Hessian-vector product couples a row's classes exactly. The optimum is
scikit-learn's ``Ridge``/``LogisticRegression`` on the same one-hot columns (tested),
reached in a fraction of their time (0.4 s against 9.6 s for ``Ridge(tol=1e-10)`` on
flights' 327,000 rows and ~8,000 levels).

The model, for one output (one per class for multiclass)::

    f(row) = intercept + sum_j b_j[level of column j] + numeric @ beta

with the loss summed over rows plus ``penalty / 2 * (|b|^2 + |beta|^2)`` (the intercept
is not penalized): ``penalty=1`` is ``Ridge(alpha=1)`` (which minimizes twice this
objective, ``|y - Xw|^2 + alpha |w|^2``: the same optimum) and ``LogisticRegression(C=1)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["AdditiveFit", "additive_predict", "fit_additive", "probabilities"]

#: The Newton steps stop when the step would lower the objective by less than this share.
NEWTON_TOL = 1e-10


@dataclass(frozen=True)
class AdditiveFit:
    """The fitted additive model: per-column level effects, numeric slopes, intercept.

    ``effects[j]`` is ``[size_j, n_out]``, centred so that its row-weighted mean over
    the training rows is 0 (the shift moved into ``intercept``); a level no training
    row has gets 0.
    """

    effects: list[np.ndarray]
    numeric: np.ndarray  # [n_numeric, n_out]
    intercept: np.ndarray  # [n_out]
    iterations: int


class _Design:
    """The one-hot columns of ``codes`` (sparse), the numeric columns and an intercept."""

    def __init__(self, codes: np.ndarray, sizes: list[int], numeric: np.ndarray) -> None:
        rows, n_cols = codes.shape
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        n_levels = int(self.offsets[-1])
        self.onehot = sp.csr_matrix(
            (
                np.ones(rows * n_cols),
                (codes + self.offsets[:-1]).ravel(),
                np.arange(0, rows * n_cols + 1, n_cols),
            ),
            shape=(rows, n_levels),
        )
        self.onehot_t = self.onehot.T.tocsr()
        self.numeric = numeric
        self.n_levels = n_levels
        self.width = n_levels + numeric.shape[1] + 1

    def dot(self, x: np.ndarray) -> np.ndarray:
        """``A @ x`` for ``x`` of ``[width, n_out]``."""
        n = self.n_levels
        return self.onehot @ x[:n] + self.numeric @ x[n:-1] + x[-1]

    def tdot(self, r: np.ndarray) -> np.ndarray:
        """``A.T @ r`` for ``r`` of ``[rows, n_out]``."""
        return np.concatenate([self.onehot_t @ r, self.numeric.T @ r, r.sum(0, keepdims=True)])

    def diagonal(self, w: np.ndarray) -> np.ndarray:
        """The diagonal of ``A.T @ diag(w) @ A`` (per output column of ``w``)."""
        return np.concatenate([self.onehot_t @ w, (self.numeric**2).T @ w, w.sum(0, keepdims=True)])


def _solve(
    design: _Design,
    weigh: Callable[[np.ndarray], np.ndarray],
    diagonal: np.ndarray,
    pen: np.ndarray,
    b: np.ndarray,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int]:
    """Solve ``(A.T W A + diag(pen)) x = b``: conjugate gradients preconditioned by the
    diagonal of ``A.T W A`` (Jacobi), ``W`` applied by ``weigh`` to ``A @ v`` (the
    softmax Hessian couples a row's classes, so ``x`` is one system of all its columns)."""
    precond = 1.0 / np.maximum(design.diagonal(diagonal) + pen, 1e-12)

    def hess(v: np.ndarray) -> np.ndarray:
        return design.tdot(weigh(design.dot(v))) + pen * v

    x = np.zeros_like(b)
    r = b.copy()
    z = precond * r
    d = z.copy()
    rz = float((r * z).sum())
    bound = tol * float(np.sqrt((b * b).sum()))
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (returned)
        hd = hess(d)
        curv = float((d * hd).sum())
        if curv <= 0.0:
            break
        alpha = rz / curv
        x += alpha * d
        r -= alpha * hd
        if float(np.sqrt((r * r).sum())) <= bound:
            break
        z = precond * r
        rz_new = float((r * z).sum())
        d = z + (rz_new / rz) * d
        rz = rz_new
    return x, it


def _loss(f: np.ndarray, target: np.ndarray, objective: str) -> float:
    if objective == "binary":
        return float((np.logaddexp(0.0, f) - target * f).sum())
    top = f.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(f - top).sum(axis=1))
    return float((lse - (f * target).sum(axis=1)).sum())


def additive_predict(
    effects: list[np.ndarray],
    intercept: np.ndarray,
    slopes: np.ndarray,
    codes: np.ndarray,
    numeric: np.ndarray,
) -> np.ndarray:
    """``[rows, n_out]``: ``intercept + sum_j effects[j][codes[:, j]] + numeric @ slopes``."""
    out = np.broadcast_to(intercept, (len(codes), len(intercept))) + numeric @ slopes
    for j, table in enumerate(effects):
        out = out + table[codes[:, j]]
    return out


def probabilities(f: np.ndarray, objective: str) -> np.ndarray:
    """The logistic (``"binary"``) or softmax (``"multiclass"``) of the scores ``f``."""
    if objective == "binary":
        return 0.5 * (1.0 + np.tanh(0.5 * f))
    e = np.exp(f - f.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fit_additive(
    codes: np.ndarray,
    sizes: list[int],
    numeric: np.ndarray,
    y: np.ndarray,
    objective: str,
    n_out: int,
    *,
    penalty: float = 1.0,
    tol: float = 1e-6,
    max_newton: int = 50,
) -> AdditiveFit:
    """Fit the penalized additive model of ``y`` on these rows.

    Args:
        codes: ``[rows, columns]`` level codes, column ``j``'s in ``range(sizes[j])``.
        sizes: Levels per column.
        numeric: ``[rows, n_numeric]`` standardized numeric columns (may be 0 wide).
        y: Regression: the (standardized) target; binary: 0/1; multiclass: class codes.
        objective: ``"regression"``, ``"binary"`` or ``"multiclass"``.
        n_out: Outputs: 1, or the number of classes.
        penalty: The ridge penalty of the level effects and numeric slopes.
        tol: Relative residual at which the least-squares solve stops (regression).
        max_newton: Most Newton steps (classification).
    """
    design = _Design(codes, sizes, numeric)
    pen = np.full((design.width, 1), float(penalty))
    pen[-1] = 0.0
    if objective == "multiclass":
        target = np.zeros((len(y), n_out))
        target[np.arange(len(y)), np.asarray(y, dtype=np.int64)] = 1.0
    else:
        target = np.asarray(y, dtype=np.float64).reshape(-1, 1)
    rows = len(target)
    iterations = 0  # conjugate-gradient steps, all solves together
    if objective == "regression":
        x, iterations = _solve(
            design, lambda u: u, np.ones((rows, 1)), pen, design.tdot(target), tol, 1000
        )
    else:
        x = np.zeros((design.width, n_out))
        prior = np.clip(target.mean(axis=0), 1e-6, 1 - 1e-6)
        x[-1] = np.log(prior) if objective == "multiclass" else np.log(prior / (1 - prior))
        f = design.dot(x)
        obj = _loss(f, target, objective) + 0.5 * float((pen * x * x).sum())
        for _ in range(max_newton):
            p = probabilities(f, objective)
            grad = design.tdot(p - target) + pen * x
            if objective == "binary":
                w = p * (1 - p)

                def weigh(u: np.ndarray, w: np.ndarray = w) -> np.ndarray:
                    return w * u
            else:
                # the softmax Hessian of a row: diag(p) - p p^T

                def weigh(u: np.ndarray, p: np.ndarray = p) -> np.ndarray:
                    pu = p * u
                    return pu - p * pu.sum(axis=1, keepdims=True)

            step, its = _solve(design, weigh, p * (1 - p), pen, -grad, 1e-3, 200)
            iterations += its
            slope = float((grad * step).sum())
            # the Newton decrement: the objective's predicted fall, relative
            if -slope <= NEWTON_TOL * max(abs(obj), 1.0):
                break
            t = 1.0
            while True:
                f_new = design.dot(x + t * step)
                obj_new = _loss(f_new, target, objective) + 0.5 * float(
                    (pen * (x + t * step) ** 2).sum()
                )
                if obj_new <= obj + 1e-4 * t * slope or t < 1e-8:
                    break
                t *= 0.5
            x += t * step
            f, obj = f_new, obj_new
    n = design.n_levels
    effects, intercept = [], x[-1].copy()
    for j in range(codes.shape[1]):
        table = x[design.offsets[j] : design.offsets[j + 1]].copy()
        w = np.bincount(codes[:, j], minlength=sizes[j]).astype(np.float64)
        mean = (w @ table) / w.sum()
        table -= mean
        intercept += mean
        table[w == 0] = 0.0
        effects.append(table)
    return AdditiveFit(effects, x[n:-1].copy(), intercept, iterations)
