"""The colour table for the live heatmap: transparent where the model did not look."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

# At full attention the frame still shows through; the user must see what the model saw.
MAX_ALPHA = 170


def heatmap_lut() -> np.ndarray:
    """(256, 4) uint8 RGBA: inferno colours with alpha rising with the heat."""
    lut = pg.colormap.get("inferno").getLookupTable(0.0, 1.0, 256, alpha=True)
    # Quadratic alpha: weak, diffuse attention fades out so the hot spots stand out.
    lut[:, 3] = (np.linspace(0.0, 1.0, 256) ** 2 * MAX_ALPHA).astype(np.uint8)
    return lut
