"""The heatmap colormaps offered in the window: perceptually uniform ones, readable on any image,
for unsigned maps; and the one diverging colormap a signed map is drawn in, centred on 0."""

from __future__ import annotations

import functools

import numpy as np

CHOICES = ("inferno", "viridis", "magma", "plasma", "cividis", "turbo")
DEFAULT = "inferno"
# Signed maps (gradient x input, word occlusion): blue against the prediction, grey at 0, red
# for it. One fixed scale, whatever colormap is chosen for the unsigned maps: a sequential
# colormap would paint evidence against as if it were merely weak evidence for.
DIVERGING = "CET-D1"


def for_map(name: str, signed: bool) -> str:
    """The colormap a map is drawn in: the chosen one, or the diverging one for a signed map."""
    return DIVERGING if signed else name


def levels(signed: bool) -> tuple[float, float]:
    """The range a map's values span: [-1, 1] signed, [0, 1] unsigned."""
    return (-1.0, 1.0) if signed else (0.0, 1.0)


@functools.cache
def get(name: str):
    """The pyqtgraph ColorMap (pyqtgraph is imported on first use: it is slow to import)."""
    from mmstudio.gui.common.plotting import pg

    return pg.colormap.get(name if name in (*CHOICES, DIVERGING) else DEFAULT)


@functools.cache
def lut(name: str) -> np.ndarray:
    """(256, 3) uint8 lookup table for ImageItem.setLookupTable."""
    return get(name).getLookupTable(0.0, 1.0, 256, alpha=False)


def rgb(name: str, values: np.ndarray, signed: bool = False) -> np.ndarray:
    """Values in [0, 1] -> (N, 3) uint8 colours; with ``signed``, values in [-1, 1] through
    the diverging colormap, 0 at its centre."""
    table = lut(for_map(name, signed))
    low, high = levels(signed)
    values = (np.nan_to_num(np.asarray(values, dtype=np.float64)) - low) / (high - low)
    return table[np.clip(values * 255.0, 0, 255).astype(np.intp)]


GREY_LUT = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
