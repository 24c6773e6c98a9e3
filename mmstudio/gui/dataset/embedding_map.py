"""The embedding map: the fused pre-logit vectors in 2-D, coloured by label, prediction or
correctness; a rectangle selects the rows under it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mmstudio.datasets.embedding import PCA, available_methods, embedding_matrix, project
from mmstudio.gui.common.plotting import pg
from mmstudio.gui.common.theme import style_plot

COLOUR_BY = ("label", "predicted", "correct")
_PALETTE = [pg.intColor(i, hues=10, values=1, maxValue=230) for i in range(10)]
_RIGHT, _WRONG, _UNKNOWN = pg.mkColor("#54A24B"), pg.mkColor("#D6604D"), pg.mkColor("#999999")


class EmbeddingMap(QWidget):
    # Table row numbers inside the selection rectangle; None when the selection is off.
    selection_changed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows = np.zeros(0, dtype=np.int64)
        self.points = np.zeros((0, 2), dtype=np.float32)
        self._table: pa.Table | None = None
        self.method = QComboBox()
        self.method.addItems(available_methods())
        self.colour_by = QComboBox()
        self.colour_by.addItems(COLOUR_BY)
        self.select = QCheckBox("Filter the table by the rectangle")
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("embedding-map")
        self.plot.setMenuEnabled(False)
        style_plot(self.plot, self)
        self.scatter = pg.ScatterPlotItem(size=5, pen=None)
        self.plot.addItem(self.scatter)
        self.region = pg.RectROI([0, 0], [1, 1], pen=pg.mkPen("#F58518", width=2))
        self.region.setVisible(False)
        self.plot.addItem(self.region)
        controls = QHBoxLayout()
        for widget in (QLabel("Map:"), self.method, QLabel("Colour:"), self.colour_by, self.select):
            controls.addWidget(widget)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.plot)
        self.method.currentTextChanged.connect(lambda _: self._reproject())
        self.colour_by.currentTextChanged.connect(lambda _: self._recolour())
        self.select.toggled.connect(self._on_select_toggled)
        self.region.sigRegionChangeFinished.connect(lambda _: self._emit_selection())

    def set_table(self, table: pa.Table) -> None:
        self._table = table
        self._reproject()

    def _reproject(self) -> None:
        if self._table is None:
            return
        self.rows, vectors = embedding_matrix(self._table)
        method = self.method.currentText() or PCA
        self.points = project(vectors, method) if len(vectors) else np.zeros((0, 2), np.float32)
        self._recolour()
        if len(self.points) and not self.select.isChecked():
            low, high = self.points.min(0), self.points.max(0)
            self.region.setPos(low + (high - low) * 0.25, finish=False)
            self.region.setSize((high - low) * 0.5, finish=False)

    def _recolour(self) -> None:
        if self._table is None or len(self.rows) == 0:
            self.scatter.setData([], [])
            return
        key = self.colour_by.currentText()
        values = self._table[key].take(pa.array(self.rows)).combine_chunks()
        # One brush per category, picked by code: no Python object is made per point.
        encoded = values.dictionary_encode()
        categories = encoded.dictionary.to_pylist()
        if key == "correct":
            colours = [_RIGHT if v else _WRONG for v in categories]
        else:
            colours = [_PALETTE[i % len(_PALETTE)] for i in range(len(categories))]
        brushes = np.array([pg.mkBrush(c) for c in [*colours, _UNKNOWN]], dtype=object)
        codes = encoded.indices.fill_null(len(categories)).to_numpy(zero_copy_only=False)
        self.scatter.setData(pos=self.points, brush=brushes[codes], data=self.rows)

    def _on_select_toggled(self, on: bool) -> None:
        self.region.setVisible(on)
        self._emit_selection()

    def selected_rows(self) -> np.ndarray | None:
        if not self.select.isChecked():
            return None
        x, y = self.region.pos()
        width, height = self.region.size()
        inside = (
            (self.points[:, 0] >= x)
            & (self.points[:, 0] <= x + width)
            & (self.points[:, 1] >= y)
            & (self.points[:, 1] <= y + height)
        )
        return self.rows[inside]

    def _emit_selection(self) -> None:
        self.selection_changed.emit(self.selected_rows())
