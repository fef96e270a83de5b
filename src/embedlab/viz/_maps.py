"""Embedding maps: a static picture (matplotlib) and an interactive page (plotly).

:func:`embedding_map` projects the vectors (or takes a projection made by
:func:`~embedlab.viz.project`) and returns an :class:`EmbeddingMap`, whose ``save``
picks the output by extension: ``.png``/``.svg``/``.pdf`` for the static map,
``.html`` for the interactive one.

**Colours.** ``color="genre"`` colours each item by one of its genres. An item with
several genres takes its *rarest* listed genre among the items on the map (the most
specific one: "Animation" rather than "Comedy"), ties going to the first listed;
``genre_rule="first"`` takes the first listed genre instead. The legend states the
rule. At most 19 groups get their own colour; the rest are drawn grey as "other". A
numeric column (``year``, ``n_ratings``, a column of mean ratings...) is coloured on a
continuous scale with a colourbar; rating counts (columns named ``n_*``) on a log
scale.

The default ``color="auto"`` takes the genres when the metadata has them, else the
count column (``n_ratings``, ``count`` or an encoder level's ``n_rows``) or the
``bias``, else another numeric column, else one colour: a map never needs metadata.

**Labels.** The ``label_top`` most-rated items (the count column; without one, the
points farthest from the centre) are labelled, by title or else by ID.
Labels never overlap: each is tried at eight positions around its point and dropped
when every position collides with a label already placed or leaves the plot (a
greedy pass in rating order, on the labels' rendered bounding boxes).

**Interactive page.** One self-contained HTML file (plotly.js inlined, no network
access needed): hovering shows title, genres and rating count; clicking a legend
entry hides or shows a group; a search box finds an item by title or ID and
highlights it with its nearest neighbours (precomputed: the ``neighbours`` closest
items by cosine similarity of the original vectors, or by distance on the map when
only a projection was given).
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from embedlab.embeddings import count_column
from embedlab.settings import Int
from embedlab.viz._colours import _Colouring
from embedlab.viz._figure import _check_suffix, new_figure
from embedlab.viz._project import METHODS, _as_list, as_embeddings, project, unit_rows

__all__ = ["EmbeddingMap", "embedding_map"]


def _neighbours(points: np.ndarray, k: int) -> np.ndarray:
    """Row indices of the ``k`` most cosine-similar rows of each row (itself excluded)."""
    n = points.shape[0]
    k = min(k, n - 1)
    unit = unit_rows(points)
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, 1024):
        sims = unit[start : start + 1024] @ unit.T
        rows = np.arange(start, min(start + 1024, n))
        sims[rows - start, rows] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < n else np.argsort(-sims)
        order = np.take_along_axis(sims, top, axis=1)
        out[start : start + len(rows)] = np.take_along_axis(top, np.argsort(-order, axis=1), 1)
    return out


def _map_neighbours(xy: np.ndarray, k: int) -> np.ndarray:
    n = xy.shape[0]
    k = min(k, n - 1)
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, 1024):
        block = xy[start : start + 1024]
        d = ((block[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
        rows = np.arange(start, start + len(block))
        d[rows - start, rows] = np.inf
        out[start : start + len(block)] = np.argsort(d, axis=1, kind="stable")[:, :k]
    return out


def _short(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class EmbeddingMap:
    """A 2-D map of embeddings, saved as a static picture or an interactive page.

    Built by :func:`embedding_map`. Attributes: ``projection`` (the frame of
    :func:`~embedlab.viz.project`), ``neighbours`` (``[n, k]`` row indices of each
    point's nearest neighbours), ``neighbour_space`` (where they were measured),
    ``title``, ``color``. After the static figure is drawn, ``placed_labels`` lists
    the keys that got a label and ``label_boxes`` their bounding boxes in pixels.
    """

    def __init__(
        self,
        projection: pd.DataFrame,
        *,
        neighbours: np.ndarray,
        neighbour_space: str,
        color: str | None,
        genre_rule: str,
        label_top: int,
        title: str,
    ) -> None:
        self.projection = projection
        self.neighbours = neighbours
        self.neighbour_space = neighbour_space
        self.color = color
        self.label_top = label_top
        self.title = title
        self._colouring = _Colouring(projection, color, genre_rule)
        self._figure: Any = None
        self.placed_labels: list[Any] = []
        self.label_boxes: list[tuple[float, float, float, float]] = []

    def __repr__(self) -> str:
        return f"EmbeddingMap({len(self.projection)} points, {self.title!r})"

    # ------------------------------------------------------------ static
    @property
    def figure(self) -> Any:
        """The static map as a matplotlib Figure (drawn on first use)."""
        if self._figure is None:
            self._figure = self._draw()
        return self._figure

    def _draw(self) -> Any:
        frame = self.projection
        col = self._colouring
        fig = new_figure(10, 8, dpi=100)
        ax = fig.add_axes((0.04, 0.05, 0.70 if col.kind == "categorical" else 0.80, 0.86))
        x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
        size = float(np.clip(12_000 / max(len(frame), 1), 6, 40))
        if col.kind == "categorical":
            for g, (name, colour) in enumerate(zip(col.groups, col.colours, strict=True)):
                mask = col.group_of == g
                if mask.any():
                    ax.scatter(
                        x[mask],
                        y[mask],
                        s=size,
                        c=colour,
                        label=f"{name} ({int(mask.sum())})",
                        alpha=0.8,
                        linewidths=0,
                    )
            ax.legend(
                title=f"colour: {col.note}",
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
                fontsize=8,
                title_fontsize=8,
                markerscale=max(1.0, 30 / size) ** 0.5,
                frameon=False,
            )
        elif col.kind == "continuous":
            from matplotlib.colors import LogNorm, Normalize

            values = col.values
            finite = values[np.isfinite(values)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            if col.log:
                norm: Any = LogNorm(vmin=max(lo, 1.0), vmax=max(hi, max(lo, 1.0) * 10))
                values = np.clip(values, norm.vmin, None)
            else:
                norm = Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
            points = ax.scatter(x, y, s=size, c=values, cmap="viridis", norm=norm, linewidths=0)
            bar = fig.colorbar(points, ax=ax, fraction=0.05, pad=0.02)
            bar.set_label(col.note)
        else:
            ax.scatter(x, y, s=size, c="#4c72b0", alpha=0.8, linewidths=0)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        fig.suptitle(self.title, fontsize=11, x=0.04, ha="left")
        ax.margins(0.08)
        ax.autoscale_view()  # settle the limits now: labels are placed in pixels
        self._label(fig, ax)
        return fig

    def _label(self, fig: Any, ax: Any) -> None:
        frame = self.projection
        self.placed_labels, self.label_boxes = [], []
        if self.label_top <= 0 or not len(frame):
            return
        count = count_column(frame)
        if count is not None:
            counts = pd.to_numeric(frame[count], errors="coerce").fillna(0)
            order = np.argsort(-counts.to_numpy(dtype=np.float64), kind="stable")
        else:  # no rating counts: the outermost points, which show the map's extent
            xy = frame[["x", "y"]].to_numpy(dtype=np.float64)
            order = np.argsort(-np.hypot(*(xy - xy.mean(axis=0)).T), kind="stable")
        order = order[: self.label_top]
        renderer = fig.canvas.get_renderer()
        area = ax.get_window_extent(renderer)
        offsets = [(4, 4), (4, -4), (-4, 4), (-4, -4), (0, 7), (0, -7), (7, 0), (-7, 0)]
        placed: list[Any] = []
        for row in order:
            text = frame["label"].iloc[row]
            text = str(frame["key"].iloc[row]) if text is None else str(text)
            px, py = float(frame["x"].iloc[row]), float(frame["y"].iloc[row])
            for dx, dy in offsets:
                ha = "left" if dx > 0 else "right" if dx < 0 else "center"
                va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
                ann = ax.annotate(
                    _short(text),
                    (px, py),
                    xytext=(dx, dy),
                    textcoords="offset points",
                    fontsize=7,
                    ha=ha,
                    va=va,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7},
                )
                box = ann.get_window_extent(renderer).expanded(1.04, 1.1)
                inside = (
                    box.x0 >= area.x0
                    and box.x1 <= area.x1
                    and box.y0 >= area.y0
                    and box.y1 <= area.y1
                )
                if inside and not any(box.overlaps(other) for other in placed):
                    placed.append(box)
                    self.placed_labels.append(frame["key"].iloc[row])
                    self.label_boxes.append((box.x0, box.y0, box.x1, box.y1))
                    break
                ann.remove()

    # ------------------------------------------------------------ interactive
    def to_plotly(self) -> Any:
        """The interactive map as a plotly Figure (without the search box)."""
        import plotly.graph_objects as go

        frame = self.projection
        col = self._colouring
        n = len(frame)
        labels = [
            str(k) if lab is None else str(lab)
            for k, lab in zip(frame["key"], frame["label"], strict=True)
        ]
        genres = (
            [", ".join(map(str, _as_list(v))) for v in frame["genres"]]
            if "genres" in frame.columns
            else [""] * n
        )
        count = count_column(frame)
        counts = [int(v) for v in frame[count]] if count is not None else [None] * n
        # the rating count of a recommender's items, the rows of an encoder's levels
        count_word = {"n_ratings": "ratings", "n_rows": "rows"}.get(str(count), str(count))
        rows = np.arange(n)
        custom = np.empty((n, 4), dtype=object)
        custom[:, 0] = rows
        custom[:, 1] = genres
        custom[:, 2] = ["–" if c is None else f"{c:,}" for c in counts]
        custom[:, 3] = [str(k) for k in frame["key"]]
        hover = (
            "<b>%{text}</b>"
            + ("<br>genres: %{customdata[1]}" if "genres" in frame.columns else "")
            + (f"<br>{count_word}: %{{customdata[2]}}" if count is not None else "")
            + (
                f"<br>{html.escape(str(col.name))}: %{{marker.color}}"
                if col.kind == "continuous" and col.name != count
                else ""
            )
            + "<br>id: %{customdata[3]}<extra></extra>"
        )
        x = np.round(frame["x"].to_numpy(), 4)
        y = np.round(frame["y"].to_numpy(), 4)
        fig = go.Figure()
        if col.kind == "categorical":
            for g, (name, colour) in enumerate(zip(col.groups, col.colours, strict=True)):
                mask = col.group_of == g
                if not mask.any():
                    continue
                fig.add_trace(
                    go.Scatter(
                        x=x[mask],
                        y=y[mask],
                        mode="markers",
                        name=f"{name} ({int(mask.sum())})",
                        text=[labels[i] for i in rows[mask]],
                        customdata=custom[mask],
                        hovertemplate=hover,
                        marker={"color": colour, "size": 6, "opacity": 0.8},
                    )
                )
        else:
            marker: dict[str, Any] = {"size": 6, "opacity": 0.8, "color": "#4c72b0"}
            if col.kind == "continuous":
                values = np.log10(np.clip(col.values, 1, None)) if col.log else col.values
                marker.update(
                    color=values,
                    colorscale="Viridis",
                    showscale=True,
                    colorbar={"title": {"text": f"log10 {col.name}" if col.log else col.note}},
                )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="markers",
                    name="items",
                    text=labels,
                    customdata=custom,
                    hovertemplate=hover,
                    marker=marker,
                )
            )
        empty: dict[str, Any] = {"x": [], "y": [], "text": [], "hoverinfo": "text"}
        fig.add_trace(
            go.Scatter(
                **empty,
                mode="markers",
                name="neighbours",
                showlegend=False,
                marker={
                    "size": 12,
                    "color": "rgba(0,0,0,0)",
                    "line": {"width": 2, "color": "#d62728"},
                },
            )
        )
        fig.add_trace(
            go.Scatter(
                **empty,
                mode="markers+text",
                name="selected",
                showlegend=False,
                textposition="top center",
                marker={
                    "size": 16,
                    "symbol": "star",
                    "color": "#d62728",
                    "line": {"width": 1, "color": "black"},
                },
            )
        )
        legend_title = f"colour: {col.note}" if col.kind == "categorical" else ""
        fig.update_layout(
            title={"text": html.escape(self.title), "x": 0.01, "font": {"size": 14}},
            template="plotly_white",
            legend={"title": {"text": legend_title}, "itemsizing": "constant"},
            xaxis={"visible": False},
            yaxis={"visible": False},
            margin={"l": 10, "r": 10, "t": 50, "b": 10},
            hovermode="closest",
            height=760,
        )
        return fig

    def to_html(self) -> str:
        """The interactive page: self-contained HTML with plotly.js inlined and a search box."""
        fig = self.to_plotly()
        n_traces = len(fig.data)
        body = fig.to_html(
            full_html=False,
            include_plotlyjs=True,
            include_mathjax=False,
            div_id="embedlab-map",
            config={"displaylogo": False, "responsive": True},
        )
        frame = self.projection
        labels = [
            str(k) if lab is None else str(lab)
            for k, lab in zip(frame["key"], frame["label"], strict=True)
        ]
        data = {
            "n": len(frame),
            "keys": [k.item() if hasattr(k, "item") else k for k in frame["key"]],
            "labels": labels,
            "x": np.round(frame["x"].to_numpy(), 4).tolist(),
            "y": np.round(frame["y"].to_numpy(), 4).tolist(),
            "neighbours": self.neighbours.tolist(),
            "neighbour_space": self.neighbour_space,
            "traces": {"neighbours": n_traces - 2, "selected": n_traces - 1},
        }
        payload = json.dumps(data, separators=(",", ":"), default=str).replace("</", "<\\/")
        options = "".join(f'<option value="{html.escape(lab)}">' for lab in sorted(set(labels)))
        return _PAGE.format(
            title=html.escape(self.title),
            body=body,
            payload=payload,
            options=options,
            k=self.neighbours.shape[1],
            space=html.escape(self.neighbour_space),
            script=_SCRIPT,
        )

    # ------------------------------------------------------------ output
    def save(self, path: str | os.PathLike[str], *, dpi: int | None = None) -> Path:
        """Write the map: ``.png``/``.svg``/``.pdf`` static, ``.html`` interactive.

        Returns:
            The path written.

        Raises:
            ValueError: For another extension.
        """
        path = Path(path)
        suffix = _check_suffix(path, (".png", ".svg", ".pdf", ".html"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".html":
            path.write_text(self.to_html(), encoding="utf-8")
        else:
            self.figure.savefig(path, format=suffix[1:], dpi=dpi or self.figure.dpi)
        return path

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        return buffer.getvalue()


def _method_text(attrs: dict[str, Any]) -> str:
    method = attrs.get("method")
    name = METHODS.get(method, str(method or "projection"))
    details = [str(attrs["metric"])] if attrs.get("metric") else []
    if method == "tsne" and "perplexity" in attrs:
        details.append(f"perplexity {attrs['perplexity']:g}")
    if method == "pca" and "explained_variance_ratio" in attrs:
        share = sum(attrs["explained_variance_ratio"])
        details.append(f"{share:.0%} of variance")
    return f"{name} ({', '.join(details)})" if details else name


def embedding_map(
    vectors_or_projection: Any,
    method: str = "tsne",
    *,
    color: str | None = "auto",
    label_top: int = 20,
    title: str | None = None,
    data: str | None = None,
    genre_rule: str = "rarest",
    neighbours: int = 10,
    **project_kwargs: Any,
) -> EmbeddingMap:
    """A map of embeddings in 2-D: ``.save("map.png")`` or ``.save("map.html")``.

    Args:
        vectors_or_projection: What :func:`~embedlab.viz.project` takes (KeyedEmbeddings,
            a fitted model, an ``(array, keys)`` pair), or a frame it returned.
        method: ``"tsne"``, ``"umap"`` or ``"pca"`` (ignored for a projection frame).
        color: ``"auto"`` (default: the genres when the metadata has them, else the
            rating count ``n_ratings`` or the ``bias``, else another numeric column,
            else one colour), ``"genre"``, any metadata column (categorical: a legend;
            numeric: a colour bar) or None.
        label_top: Label this many of the most-rated items (0: none); without rating
            counts, the outermost points. Items without a label show their ID.
        title: The title; default names the source (model), the method and the data.
        data: A name for the data in the default title (e.g. ``"ML-100K"``).
        genre_rule: ``"rarest"`` or ``"first"``: the genre that colours a multi-genre item.
        neighbours: How many nearest neighbours the page's search highlights.
        **project_kwargs: Passed to :func:`~embedlab.viz.project` (``metric``,
            ``top_n``, ``subset``, ``genre``, ``perplexity``, ``random_state``...).

    Returns:
        An :class:`EmbeddingMap`.

    Raises:
        ValueError: For an unknown colour column or a bad option (and whatever
            :func:`~embedlab.viz.project` raises).
        TypeError: If a projection frame is passed with projection options.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> m = embedding_map((rng.normal(size=(30, 4)), range(30)), "pca", color=None)
        >>> len(m.projection), m.neighbours.shape
        (30, (30, 10))
    """
    neighbours = Int(1)("neighbours", neighbours)
    label_top = Int(0)("label_top", label_top)
    if isinstance(vectors_or_projection, pd.DataFrame):
        if project_kwargs:
            raise TypeError(
                f"{', '.join(sorted(project_kwargs))}: projection options do not apply to a "
                "projection frame; pass the vectors instead"
            )
        frame = vectors_or_projection
        missing = [c for c in ("key", "x", "y") if c not in frame.columns]
        if missing:
            raise ValueError(
                f"the frame lacks columns {missing}; expected the output of embedlab.viz.project"
            )
        if "label" not in frame.columns:
            frame = frame.assign(label=None)
        xy = frame[["x", "y"]].to_numpy(dtype=np.float64)
        near = _map_neighbours(xy, neighbours)
        space = "distance on the map"
    else:
        kv, _ = as_embeddings(vectors_or_projection)
        frame = project(vectors_or_projection, method, **project_kwargs)
        rows = np.asarray(frame.attrs["rows"], dtype=np.int64)
        near = _neighbours(np.asarray(kv.vectors[rows], dtype=np.float64), neighbours)
        space = f"cosine similarity of the {kv.vector_size}-d vectors"
    if title is None:
        attrs = frame.attrs
        count = count_column(frame)
        # an encoder column's keys are its levels (counted in rows), a recommender's items
        what = "points" if count is None else "levels" if count == "n_rows" else "items"
        where = f" of {data}" if data else ""
        title = (
            f"{attrs.get('source', 'embeddings')} · {_method_text(attrs)} · "
            f"{len(frame):,} {what}{where}"
        )
    return EmbeddingMap(
        frame,
        neighbours=near,
        neighbour_space=space,
        color=color,
        genre_rule=genre_rule,
        label_top=label_top,
        title=title,
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 12px; }}
#embedlab-search {{ display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }}
#embedlab-query {{ width: 28em; padding: 4px; }}
#embedlab-status {{ color: #555; }}
#embedlab-neighbours {{ margin: 4px 0 0 0; font-size: 90%; }}
</style>
</head>
<body>
<form id="embedlab-search" autocomplete="off">
<label for="embedlab-query">Find an item:</label>
<input id="embedlab-query" list="embedlab-labels" placeholder="title or ID">
<button type="submit">Show neighbours</button>
<button type="button" id="embedlab-clear">Clear</button>
<span id="embedlab-status">Highlights the item and its {k} nearest neighbours ({space}).</span>
</form>
<datalist id="embedlab-labels">{options}</datalist>
<ol id="embedlab-neighbours"></ol>
{body}
<script type="application/json" id="embedlab-data">{payload}</script>
<script>{script}</script>
</body>
</html>
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("embedlab-data").textContent);
  var gd = document.getElementById("embedlab-map");
  var input = document.getElementById("embedlab-query");
  var status = document.getElementById("embedlab-status");
  var list = document.getElementById("embedlab-neighbours");
  var fold = function (s) {
    return String(s).toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "").trim();
  };
  var names = data.labels.map(fold);
  var keys = data.keys.map(fold);
  function find(query) {
    var q = fold(query);
    if (!q) { return -1; }
    var i = names.indexOf(q);
    if (i < 0) { i = keys.indexOf(q); }
    if (i < 0) { i = names.findIndex(function (n) { return n.indexOf(q) >= 0; }); }
    return i;
  }
  function show(i) {
    var near = data.neighbours[i];
    var pick = function (arr, rows) { return rows.map(function (j) { return arr[j]; }); };
    Plotly.restyle(gd, {
      x: [pick(data.x, near), [data.x[i]]],
      y: [pick(data.y, near), [data.y[i]]],
      text: [pick(data.labels, near), [data.labels[i]]]
    }, [data.traces.neighbours, data.traces.selected]);
    list.innerHTML = "";
    near.forEach(function (j) {
      var li = document.createElement("li");
      li.textContent = data.labels[j];
      list.appendChild(li);
    });
    status.textContent = data.labels[i] + ": " + near.length + " nearest neighbours (" +
      data.neighbour_space + ")";
    gd.setAttribute("data-selected", String(i));
  }
  function clear() {
    Plotly.restyle(gd, {x: [[], []], y: [[], []], text: [[], []]},
      [data.traces.neighbours, data.traces.selected]);
    list.innerHTML = "";
    gd.removeAttribute("data-selected");
  }
  window.embedlabSearch = function (query) {
    var i = find(query);
    if (i < 0) {
      clear();
      status.textContent = "No item matches \u201c" + query + "\u201d.";
      return null;
    }
    show(i);
    return {index: i, key: data.keys[i], label: data.labels[i],
      neighbours: data.neighbours[i].map(function (j) { return data.keys[j]; })};
  };
  document.getElementById("embedlab-search").addEventListener("submit", function (ev) {
    ev.preventDefault();
    window.embedlabSearch(input.value);
  });
  document.getElementById("embedlab-clear").addEventListener("click", function () {
    input.value = "";
    clear();
  });
  if (gd.on) {
    gd.on("plotly_click", function (ev) {
      var p = ev.points && ev.points[0];
      if (p && p.customdata) { show(Number(p.customdata[0])); }
    });
  }
})();
"""
