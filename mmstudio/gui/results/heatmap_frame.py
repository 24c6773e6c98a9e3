"""Pieces the heatmap views share: an overlay with its colour bar, the scale it is drawn on
(signed or unsigned) and what the title says about it, and a titled placeholder."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedLayout, QVBoxLayout, QWidget

from mmstudio.gui.common.plotting import pg
from mmstudio.gui.results import colormaps


def add_heatmap_overlay(graphics, target, row: int):
    """A heatmap ImageItem over ``target``'s other items, with a colour bar for it in column 1
    of ``row`` of ``graphics``. Returns (overlay, colorbar)."""
    overlay = pg.ImageItem()
    overlay.setZValue(10)  # above the picture, whatever order items were added in
    target.addItem(overlay)
    colorbar = pg.ColorBarItem(
        values=(0.0, 1.0), colorMap=colormaps.get(colormaps.DEFAULT), interactive=False, width=12
    )
    colorbar.setImageItem(overlay)
    graphics.addItem(colorbar, row=row, col=1)
    return overlay, colorbar


def show_scale(colorbar, name: str, signed: bool) -> None:
    """Draw ``colorbar`` (and the overlay it drives) on a signed map's diverging scale from -1
    to 1, or an unsigned map's chosen colormap from 0 to 1, its axis saying which."""
    colorbar.setColorMap(colormaps.get(colormaps.for_map(name, signed)))
    colorbar.setLevels(colormaps.levels(signed))
    colorbar.axis.setLabel("against · 0 · for" if signed else "weight")


def scale_caption(method: str, signed: bool) -> str:
    """What a map's title says about it: its method, and whether its values are signed."""
    kind = (
        "signed: red for the prediction, blue against"
        if signed
        else "unsigned: brighter mattered more"
    )
    return f"{method} · {kind}" if method else kind


def titled_stack(
    owner: QWidget, title: QLabel, content: QWidget, empty_text: str
) -> tuple[QLabel, QStackedLayout]:
    """Lay ``owner`` out as ``title`` above either ``content`` or a placeholder reading
    ``empty_text`` (shown first). Returns (placeholder, stack)."""
    empty = QLabel(empty_text)
    empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
    empty.setStyleSheet("color: palette(placeholder-text);")
    stack = QStackedLayout()
    stack.addWidget(empty)
    stack.addWidget(content)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(title)
    layout.addLayout(stack, 1)
    return empty, stack
