"""A matplotlib figure that saves itself by file extension, without pyplot.

Figures are made with :class:`matplotlib.figure.Figure` and an Agg canvas, never through
``pyplot``: nothing opens a window, nothing piles up in pyplot's figure registry, and
the code works on headless machines whatever the configured backend.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any

__all__ = ["Plot", "new_figure"]

_STATIC = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def new_figure(width: float = 8.0, height: float = 6.0, dpi: int = 100) -> Any:
    """A detached matplotlib Figure with an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _check_suffix(path: Path, allowed: tuple[str, ...]) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise ValueError(
            f"cannot save {path.name!r}: unknown file type {suffix or '(none)'!r}; "
            f"expected one of {', '.join(allowed)}"
        )
    return suffix


class Plot:
    """A finished plot: ``.figure`` is the matplotlib Figure; ``.save(path)`` writes it.

    ``.png``, ``.svg`` and ``.pdf`` are written by matplotlib; ``.html`` is a
    self-contained page holding the plot as inline SVG.

    Args:
        figure: The matplotlib Figure.
        title: The plot's title (also the HTML page title).
    """

    def __init__(self, figure: Any, title: str = "") -> None:
        self.figure = figure
        self.title = title

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.title!r})"

    def _repr_png_(self) -> bytes:
        return self.to_bytes("png")

    def to_bytes(self, fmt: str = "png", *, dpi: int | None = None) -> bytes:
        """The figure encoded as ``png``, ``svg`` or ``pdf``."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format=fmt, dpi=dpi or self.figure.dpi)
        return buffer.getvalue()

    def save(self, path: str | os.PathLike[str], *, dpi: int | None = None) -> Path:
        """Write the plot; the extension picks the format (.png, .svg, .pdf, .html).

        Returns:
            The path written.

        Raises:
            ValueError: For another extension.
        """
        path = Path(path)
        suffix = _check_suffix(path, (*_STATIC, ".html"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".html":
            svg = self.to_bytes("svg").decode("utf-8")
            svg = svg[svg.find("<svg") :]
            page = (
                '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
                f"<title>{html.escape(self.title)}</title></head>"
                f"<body>{svg}</body></html>\n"
            )
            path.write_text(page, encoding="utf-8")
        else:
            self.figure.savefig(path, format=_STATIC[suffix], dpi=dpi or self.figure.dpi)
        return path

    def to_data_uri(self) -> str:
        """The PNG as a ``data:`` URI (for embedding in a page)."""
        return "data:image/png;base64," + base64.b64encode(self.to_bytes("png")).decode()
