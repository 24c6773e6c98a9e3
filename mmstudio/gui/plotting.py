"""pyqtgraph, configured once for the whole studio.

Imported by the plot views only, after the window is on screen: pyqtgraph (with the Qt modules
it pulls in) is one of the slowest imports at start-up.
"""

from __future__ import annotations

import pyqtgraph as pg

# Row-major is numpy's own order, so (H, W) heatmaps go to ImageItem without transposing.
# No antialiasing: the plots are bars and dense waveforms, where it costs paint time and shows nothing.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

__all__ = ["pg"]
