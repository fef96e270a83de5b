"""Checks of written pictures: a PNG decodes to the expected size and is not blank."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_png(path: Path) -> np.ndarray:
    """The PNG's pixels as an ``[h, w, channels]`` float array."""
    import matplotlib.image as mpimg

    return mpimg.imread(str(path))


def assert_picture(path: Path, size: tuple[int, int], *, min_colours: int = 4) -> np.ndarray:
    """A PNG that decodes to ``size`` (width, height) pixels and is not blank."""
    pixels = read_png(path)
    assert (pixels.shape[1], pixels.shape[0]) == size, pixels.shape
    rgb = pixels[..., :3].reshape(-1, 3)
    assert float(rgb.var()) > 0
    colours = np.unique(np.round(rgb * 255).astype(np.uint8), axis=0)
    assert len(colours) >= min_colours, f"only {len(colours)} distinct colours"
    return pixels
