"""pyqtgraph, configured once for the whole studio.

Imported by the plot views only, after the window is on screen: pyqtgraph (with the Qt modules
it pulls in) is one of the slowest imports at start-up.
"""

from __future__ import annotations

import pyqtgraph as pg

# Row-major is numpy's own order, so (H, W) heatmaps go to ImageItem without transposing.
# No antialiasing: the plots are bars and dense waveforms, where it costs paint time and shows nothing.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

__all__ = ["pg", "static_plot"]

# Tall enough to read: a page of such plots scrolls rather than squeezing them.
STATIC_PLOT_HEIGHT = 190


def static_plot(name: str, title: str) -> pg.PlotWidget:
    """A plot that shows figures rather than being explored: no mouse zoom, menu or buttons."""
    plot = pg.PlotWidget(title=title)
    plot.setObjectName(name)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setMinimumHeight(STATIC_PLOT_HEIGHT)
    return plot
