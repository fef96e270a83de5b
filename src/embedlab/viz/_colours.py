"""How a map colours its points: a categorical column (a distinguishable palette, rare
values as "other"), a numeric one (a colour bar), genres, or the automatic choice."""

from __future__ import annotations

import numpy as np
import pandas as pd

from embedlab.embeddings import count_column
from embedlab.viz._project import _as_list

__all__: list[str] = []  # used by embedlab.viz._maps only


_MAX_GROUPS = 19
_OTHER = "other"
_GREY = "#b0b0b0"
_NO_GENRE = "(no genre)"


def _palette(n: int) -> list[str]:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [to_hex(cmap(i)) for i in range(n)]


def _pick_genre(frame: pd.DataFrame, column: str, rule: str) -> tuple[np.ndarray, str]:
    lists = [[str(g) for g in _as_list(v)] for v in frame[column]]
    if rule == "first":
        picked = [g[0] if g else _NO_GENRE for g in lists]
        return np.asarray(picked, dtype=object), f"{column}: first listed"
    counts: dict[str, int] = {}
    for genres in lists:
        for g in set(genres):
            counts[g] = counts.get(g, 0) + 1
    picked = [min(g, key=lambda name: counts[name]) if g else _NO_GENRE for g in lists]
    return np.asarray(picked, dtype=object), f"{column}: rarest listed (most specific)"


#: Columns that :func:`embedding_map` never colours by on its own (``color="auto"``).
_NOT_COLOURS = ("key", "label", "x", "y", "id", "title")


def _auto_colour(frame: pd.DataFrame) -> str | None:
    """The column ``color="auto"`` picks: genres, else a rating count or bias, else a number."""
    for name in ("genres", "genre"):
        if name in frame.columns:
            return name
    numeric = [
        c
        for c in frame.columns
        if c not in _NOT_COLOURS
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
        and frame[c].notna().any()
    ]
    for name in (count_column(frame), "bias"):
        if name in numeric:
            return name
    return numeric[0] if numeric else None


class _Colouring:
    """How the points are coloured: categorical groups, a continuous scale, or none."""

    def __init__(self, frame: pd.DataFrame, color: str | None, genre_rule: str) -> None:
        self.kind = "none"
        self.name = color
        self.note = ""
        self.groups: list[str] = []
        self.group_of = np.zeros(len(frame), dtype=np.int64)
        self.colours: list[str] = []
        self.values = np.zeros(len(frame))
        self.log = False
        if genre_rule not in ("rarest", "first"):
            raise ValueError(f"genre_rule={genre_rule!r}: expected 'rarest' or 'first'")
        if color == "auto":
            color = _auto_colour(frame)
            self.name = color
        if color is None:
            return
        column = color
        if color in ("genre", "genres"):
            column = "genres" if "genres" in frame.columns else color
        if column not in frame.columns:
            usable = [c for c in frame.columns if c not in ("key", "label", "x", "y")]
            raise ValueError(
                f"color={color!r}: no such column on the map; available: "
                f"{', '.join(usable) if usable else '(no metadata)'}, or color=None"
            )
        series = frame[column]
        listy = series.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any()
        if listy or not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            if listy:
                names, self.note = _pick_genre(frame, column, genre_rule)
            else:
                names = series.astype(object).where(series.notna(), "(missing)").astype(str)
                names = names.to_numpy(dtype=object)
                self.note = column
            self._categorical(names)
        else:
            values = series.to_numpy(dtype=np.float64)
            self.kind = "continuous"
            self.values = values
            self.log = str(column).startswith("n_") and bool(np.nanmin(values) >= 0)
            self.note = f"{column} (log scale)" if self.log else str(column)

    def _categorical(self, names: np.ndarray) -> None:
        self.kind = "categorical"
        uniques, counts = np.unique(names.astype(str), return_counts=True)
        order = sorted(zip(uniques.tolist(), counts.tolist(), strict=True), key=lambda t: -t[1])
        keep = [name for name, _ in order]
        if len(keep) > _MAX_GROUPS + 1:
            keep = keep[:_MAX_GROUPS]
        keep = sorted(keep, key=lambda n: (n in (_NO_GENRE, "(missing)"), n))
        index = {name: i for i, name in enumerate(keep)}
        self.groups = keep
        self.colours = _palette(len(keep))
        if len(index) < len(uniques):
            self.groups = [*keep, _OTHER]
            self.colours = [*self.colours, _GREY]
        other = len(self.groups) - 1
        self.group_of = np.array([index.get(str(n), other) for n in names], dtype=np.int64)
