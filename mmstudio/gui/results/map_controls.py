"""The row above a set of maps: its heading, the colormap and the opacity of the overlays."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider

from mmstudio.gui.results import colormaps


def map_controls_row(
    names: tuple[str, str], colormap_tip: str, opacity_tip: str
) -> tuple[QHBoxLayout, QComboBox, QSlider]:
    """The row, its colormap box and its opacity slider (0 to 100), with the object ``names``
    tests and styles find them by; the caller connects them."""
    colormap_box = QComboBox()
    colormap_box.setObjectName(names[0])
    colormap_box.addItems(colormaps.CHOICES)
    colormap_box.setToolTip(colormap_tip)
    opacity_slider = QSlider(Qt.Orientation.Horizontal)
    opacity_slider.setObjectName(names[1])
    opacity_slider.setRange(0, 100)
    opacity_slider.setFixedWidth(120)
    opacity_slider.setToolTip(opacity_tip)
    row = QHBoxLayout()
    row.addWidget(QLabel("<b>Where the model looked</b>"))
    row.addStretch(1)
    row.addWidget(QLabel("Colormap"))
    row.addWidget(colormap_box)
    row.addSpacing(8)
    row.addWidget(QLabel("Opacity"))
    row.addWidget(opacity_slider)
    return row, colormap_box, opacity_slider
