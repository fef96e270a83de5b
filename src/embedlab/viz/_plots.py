"""Plots of training and experiments: learning curves, sweeps, item biases, obscurity.

Each function returns a :class:`~embedlab.viz.Plot` (``.figure``, ``.save(path)``) and
takes the objects embedlab hands out (a model, its ``history_``, the frames of
:mod:`embedlab.evaluation`) or the equivalent plain DataFrame.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from embedlab.settings import Int
from embedlab.viz._figure import Plot, new_figure

__all__ = [
    "bias_plot",
    "l2_sweep_plot",
    "learning_curves",
    "obscurity_plot",
    "size_sweep_plot",
    "sweep_plot",
]

_SETTINGS = ("size", "l2", "biases")


def _history_frame(history: Any) -> pd.DataFrame:
    if hasattr(history, "history_"):
        history = history.history_
    if history is None:
        raise ValueError("no training history: the model was not fitted (or loaded without one)")
    if hasattr(history, "to_pandas"):
        history = history.to_pandas()
    frame = pd.DataFrame(history)
    missing = [c for c in ("epoch", "train_loss") if c not in frame.columns]
    if missing:
        raise ValueError(
            f"history lacks the columns {missing}; expected per-epoch rows with epoch, "
            "train_loss and optionally val_rmse, val_mae (a model's history_)"
        )
    if frame.empty:
        raise ValueError("the history is empty: no epoch was trained")
    return frame


def learning_curves(history: Any, *, title: str | None = None) -> Plot:
    """Training loss and validation error per epoch.

    Left: the training objective (``train_loss``) per epoch. Right: validation RMSE and
    MAE per epoch, the best RMSE marked (or a note when no validation data was given).

    Args:
        history: A fitted model, its ``history_``, or a frame with ``epoch``,
            ``train_loss`` and optionally ``val_rmse``, ``val_mae``.
        title: The title (default: "Learning curves" and the best validation RMSE).

    Returns:
        A :class:`Plot`.

    Raises:
        ValueError: If the history lacks ``epoch``/``train_loss`` or is empty.
    """
    name = type(history).__name__ if hasattr(history, "history_") else None
    frame = _history_frame(history)
    epoch = frame["epoch"].to_numpy()
    fig = new_figure(10, 4.2)
    left, right = fig.subplots(1, 2)
    left.plot(epoch, frame["train_loss"], "o-", color="#1f77b4", label="training loss")
    left.set_xlabel("epoch")
    left.set_ylabel("training loss (objective)")
    left.set_title("train", fontsize=10)
    left.grid(alpha=0.3)
    has_val = "val_rmse" in frame.columns and frame["val_rmse"].notna().any()
    subtitle = ""
    if has_val:
        rmse = frame["val_rmse"].to_numpy(dtype=np.float64)
        right.plot(epoch, rmse, "o-", color="#d62728", label="validation RMSE")
        if "val_mae" in frame.columns and frame["val_mae"].notna().any():
            right.plot(epoch, frame["val_mae"], "s--", color="#ff7f0e", label="validation MAE")
        best = int(np.nanargmin(rmse))
        right.axvline(epoch[best], color="grey", lw=0.8, ls=":")
        late = best >= len(epoch) / 2
        right.annotate(
            f"best RMSE {rmse[best]:.4f}\n(epoch {epoch[best]})",
            (epoch[best], rmse[best]),
            xytext=(-8 if late else 8, 12),
            textcoords="offset points",
            fontsize=8,
            ha="right" if late else "left",
        )
        right.legend(fontsize=8, frameon=False)
        subtitle = f" · best validation RMSE {rmse[best]:.4f} at epoch {epoch[best]}"
    else:
        right.text(
            0.5,
            0.5,
            "no validation data",
            ha="center",
            va="center",
            transform=right.transAxes,
            color="grey",
        )
    right.set_xlabel("epoch")
    right.set_ylabel("validation error")
    right.set_title("validation", fontsize=10)
    right.grid(alpha=0.3)
    for ax in (left, right):
        ax.xaxis.get_major_locator().set_params(integer=True)
    text = title or f"Learning curves{f' of {name}' if name else ''}{subtitle}"
    fig.suptitle(text, fontsize=11)
    fig.tight_layout()
    return Plot(fig, text)


def _detect_setting(frame: pd.DataFrame, by: str | None) -> str:
    if by is not None:
        if by not in frame.columns:
            raise ValueError(f"by={by!r}: no such column; the frame has {list(frame.columns)}")
        return by
    found = [c for c in _SETTINGS if c in frame.columns]
    if not found:
        raise ValueError(
            f"cannot tell the setting column: expected one of {list(_SETTINGS)} (the frames of "
            "embedlab.evaluation.size_sweep, l2_sweep, bias_experiment); pass by="
        )
    return found[0]


def _summary(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    if "epoch" in frame.columns:
        from embedlab.evaluation import curve_summary

        return curve_summary(frame, by)
    needed = [c for c in ("final_train_loss", "final_val_rmse") if c not in frame.columns]
    if needed:
        raise ValueError(
            f"the sweep frame lacks {needed}; expected per-epoch rows (epoch, train_loss, "
            "val_rmse) or one summary row per setting (final_train_loss, final_val_rmse)"
        )
    return frame


def sweep_plot(curves: pd.DataFrame, *, by: str | None = None, title: str | None = None) -> Plot:
    """Training against validation error across the settings of an experiment.

    With per-epoch rows: left, the validation RMSE per epoch of each setting; right,
    the final training loss, final and best validation RMSE against the setting. With
    one summary row per setting (``l2_sweep`` default): the right panel only. Sizes are
    drawn on a log-2 axis, L2 strengths on a symmetric log axis (0 included).

    Args:
        curves: A frame of :func:`~embedlab.evaluation.size_sweep`,
            :func:`~embedlab.evaluation.l2_sweep` or
            :func:`~embedlab.evaluation.bias_experiment` (or its CSV read back).
        by: The setting column (default: the first of ``size``, ``l2``, ``biases``).
        title: The title.

    Returns:
        A :class:`Plot`.

    Raises:
        ValueError: If the frame has no setting column or lacks the error columns.
    """
    frame = pd.DataFrame(curves)
    if frame.empty:
        raise ValueError("the sweep frame is empty")
    by = _detect_setting(frame, by)
    summary = _summary(frame, by)
    per_epoch = "epoch" in frame.columns
    fig = new_figure(11 if per_epoch else 6.5, 4.4)
    axes = fig.subplots(1, 2) if per_epoch else [fig.subplots(1, 1)]
    settings = list(summary[by])
    numeric = pd.api.types.is_numeric_dtype(summary[by])
    if per_epoch:
        from matplotlib import colormaps

        cmap = colormaps["viridis"]
        ax = axes[0]
        for i, value in enumerate(settings):
            rows = frame[frame[by] == value]
            colour = cmap(i / max(len(settings) - 1, 1))
            ax.plot(
                rows["epoch"],
                rows["val_rmse"],
                "-",
                color=colour,
                label=f"{by}={value:g}" if numeric else f"{by}={value}",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation RMSE")
        ax.set_title("validation RMSE per epoch", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False, ncol=2 if len(settings) > 6 else 1)
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax = axes[-1]
    xs = np.asarray(settings, dtype=np.float64) if numeric else np.arange(len(settings))
    ax.plot(xs, summary["final_train_loss"], "o-", color="#1f77b4", label="training loss (final)")
    ax.plot(xs, summary["final_val_rmse"], "o-", color="#d62728", label="validation RMSE (final)")
    if "best_val_rmse" in summary.columns:
        ax.plot(xs, summary["best_val_rmse"], "^:", color="#ff7f0e", label="validation RMSE (best)")
    if numeric and by == "size" and (xs > 0).all():
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
    elif numeric and by == "l2":
        positive = xs[xs > 0]
        ax.set_xscale("symlog", linthresh=float(positive.min()) if positive.size else 1.0)
    elif not numeric:
        ax.set_xticks(xs, [str(s) for s in settings])
    ax.set_xlabel({"size": "embedding size", "l2": "L2 strength"}.get(by, by))
    ax.set_ylabel("error")
    ax.set_title("train vs validation", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    if summary["final_val_rmse"].notna().any():
        best = int(summary["final_val_rmse"].to_numpy(dtype=np.float64).argmin())
        label = f"{settings[best]:g}" if numeric else str(settings[best])
        best_text = f" · lowest final validation RMSE at {by}={label}"
    else:
        best_text = ""
    name = {"size": "Embedding size sweep", "l2": "L2 sweep", "biases": "Biases on/off"}
    text = title or f"{name.get(by, by)}{best_text}"
    fig.suptitle(text, fontsize=11)
    fig.tight_layout()
    return Plot(fig, text)


def size_sweep_plot(curves: pd.DataFrame, *, title: str | None = None) -> Plot:
    """:func:`sweep_plot` of a :func:`~embedlab.evaluation.size_sweep` frame."""
    return sweep_plot(curves, by="size", title=title)


def l2_sweep_plot(curves: pd.DataFrame, *, title: str | None = None) -> Plot:
    """:func:`sweep_plot` of a :func:`~embedlab.evaluation.l2_sweep` frame."""
    return sweep_plot(curves, by="l2", title=title)


def bias_plot(
    model_or_biases: Any, *, n: int = 15, min_count: int = 0, title: str | None = None
) -> Plot:
    """The ``n`` items with the highest and the lowest bias, with their rating counts.

    Args:
        model_or_biases: A fitted model with item biases, or the frame of its
            ``item_biases()`` (``bias``, ``n_ratings``, and ``title`` or ``id``).
        n: Items shown at each end.
        min_count: Leave out items with fewer ratings (sparse items float to the ends).
        title: The title.

    Returns:
        A :class:`Plot`.

    Raises:
        ValueError: If ``n`` < 1, the frame lacks ``bias``, or no item is left.
    """
    n = Int(1)("n", n)
    name = None
    if hasattr(model_or_biases, "item_biases"):
        name = type(model_or_biases).__name__
        frame = model_or_biases.item_biases()
    else:
        frame = pd.DataFrame(model_or_biases)
    if "bias" not in frame.columns:
        raise ValueError(
            f"the frame lacks 'bias' (has {list(frame.columns)}); expected model.item_biases()"
        )
    total = len(frame)
    if min_count and "n_ratings" in frame.columns:
        frame = frame[frame["n_ratings"] >= min_count]
    if frame.empty:
        raise ValueError(f"no item has at least {min_count} ratings")
    frame = frame.sort_values("bias", ascending=False, kind="stable").reset_index(drop=True)
    k = min(n, len(frame) // 2 if len(frame) > 1 else 1)
    top, bottom = frame.head(k), frame.tail(k).iloc[::-1]
    names = "title" if "title" in frame.columns else "id"
    height = max(3.5, 0.28 * k + 1.6)
    fig = new_figure(12, height)
    axes = fig.subplots(1, 2)
    for ax, part, colour, heading in (
        (axes[0], top, "#2ca02c", f"highest {k}"),
        (axes[1], bottom, "#d62728", f"lowest {k}"),
    ):
        ypos = np.arange(len(part))[::-1]
        ax.barh(ypos, part["bias"], color=colour, alpha=0.8)
        labels = [
            (str(t) if len(str(t)) <= 40 else str(t)[:39] + "…")
            for t in part[names].where(part[names].notna(), part.get("id", ""))
        ]
        ax.set_yticks(ypos, labels, fontsize=7)
        if "n_ratings" in part.columns:
            for y, (b, c) in zip(
                ypos, zip(part["bias"], part["n_ratings"], strict=True), strict=True
            ):
                ax.annotate(
                    f"{int(c):,}",
                    (b, y),
                    xytext=(3 if b >= 0 else -3, 0),
                    textcoords="offset points",
                    ha="left" if b >= 0 else "right",
                    va="center",
                    fontsize=7,
                    color="#333333",
                )
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlabel("item bias b_i (rating points)")
        ax.set_title(f"{heading} (number: ratings)", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        lo, hi = ax.get_xlim()
        pad = 0.18 * (hi - lo)
        ax.set_xlim(lo - (pad if lo < 0 else 0), hi + (pad if hi > 0 else 0))
    subset = f" with ≥ {min_count} ratings" if min_count else ""
    text = title or (
        f"Item biases{f' of {name}' if name else ''}: top and bottom {k} of "
        f"{len(frame):,} items{subset}" + (f" ({total:,} in all)" if len(frame) != total else "")
    )
    fig.suptitle(text, fontsize=11)
    fig.tight_layout()
    return Plot(fig, text)


def obscurity_plot(
    recommended: Any,
    *,
    model: str = "model",
    count: str = "n_ratings",
    catalog: Any = None,
    title: str | None = None,
) -> Plot:
    """How popular the recommended items are, per model: rating counts on a log scale.

    One box per model (median and quartiles, whiskers at the 5th and 95th
    percentiles) of the training rating counts of the items it recommended, with the
    median written above; ``catalog`` adds the whole catalogue's counts as a reference.

    Args:
        recommended: A frame with one row per recommended item and the columns
            ``model`` and ``count``, a mapping ``{model name: counts}``, or the
            result of :func:`~embedlab.evaluation.obscurity_experiment` (its sample
            users' lists, with its obscurity threshold drawn).
        model: The frame's model column.
        count: The frame's rating-count column.
        catalog: Rating counts of every item (e.g. ``model.item_counts_``), or None.
        title: The title.

    Returns:
        A :class:`Plot`.

    Raises:
        ValueError: If a column is missing or a model has no counts.
    """
    threshold = None
    if hasattr(recommended, "samples") and hasattr(recommended, "summary"):
        # An ObscurityResult: the sample users' lists, and its obscurity threshold.
        threshold = getattr(recommended, "settings", {}).get("min_count")
        recommended = recommended.samples
    if isinstance(recommended, Mapping):
        groups = {str(k): np.asarray(v, dtype=np.float64).ravel() for k, v in recommended.items()}
    else:
        frame = pd.DataFrame(recommended)
        missing = [c for c in (model, count) if c not in frame.columns]
        if missing:
            raise ValueError(
                f"the frame lacks {missing} (has {list(frame.columns)}); pass model= and "
                "count= to name its columns"
            )
        groups = {
            str(k): g[count].to_numpy(dtype=np.float64) for k, g in frame.groupby(model, sort=False)
        }
    if catalog is not None:
        groups = {"catalogue (all items)": np.asarray(catalog, dtype=np.float64).ravel(), **groups}
    if not groups:
        raise ValueError("no model to plot")
    empty = [k for k, v in groups.items() if v.size == 0]
    if empty:
        raise ValueError(f"no rating counts for {empty}")
    fig = new_figure(max(6.0, 1.3 * len(groups) + 2.5), 4.6)
    ax = fig.subplots(1, 1)
    data = [np.clip(v, 1, None) for v in groups.values()]
    ax.boxplot(data, whis=(5, 95), showfliers=False, widths=0.6)
    ax.set_xticks(np.arange(1, len(groups) + 1), list(groups), rotation=15, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("ratings of the recommended items (log scale)")
    for i, v in enumerate(data, start=1):
        median = float(np.median(v))
        ax.annotate(
            f"median {median:,.0f}",
            (i, median),
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
            fontsize=8,
            color="#d62728",
        )
    if threshold:
        ax.axhline(threshold, color="grey", ls="--", lw=0.8)
        ax.annotate(
            f"obscure: < {threshold} ratings",
            (0.5, threshold),
            xytext=(0, -10),
            textcoords="offset points",
            fontsize=8,
            color="grey",
        )
    ax.grid(axis="y", alpha=0.3)
    text = title or "Obscurity: how many ratings the recommended items have, per model"
    fig.suptitle(text, fontsize=11)
    fig.tight_layout()
    return Plot(fig, text)
