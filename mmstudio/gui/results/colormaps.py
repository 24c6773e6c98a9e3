"""The heatmap colormaps offered in the window: perceptually uniform ones, readable on any image."""

from __future__ import annotations

import functools

import numpy as np

CHOICES = ("inferno", "viridis", "magma", "plasma", "cividis", "turbo")
DEFAULT = "inferno"


@functools.cache
def get(name: str):
    """The pyqtgraph ColorMap (pyqtgraph is imported on first use: it is slow to import)."""
    from mmstudio.gui.results.plotting import pg

    return pg.colormap.get(name if name in CHOICES else DEFAULT)


@functools.cache
def lut(name: str) -> np.ndarray:
    """(256, 3) uint8 lookup table for ImageItem.setLookupTable."""
    return get(name).getLookupTable(0.0, 1.0, 256, alpha=False)


def rgb(name: str, values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> (N, 3) uint8 colours."""
    table = lut(name)
    index = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)) * 255.0, 0, 255).astype(
        np.intp
    )
    return table[index]


GREY_LUT = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
