"""The prediction: the top label in large type, and the top-k probabilities as bars."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mmstudio.gui.common.plotting import pg
from mmstudio.gui.common.theme import style_plot, text_color
from mmstudio.result import Analysis

TOP_K = 5
_BAR = "#4C78A8"
_TOP_BAR = "#F58518"


class PredictionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = QLabel("—")
        self.headline.setObjectName("predictedLabel")
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 3.2)
        font.setBold(True)
        self.headline.setFont(font)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.confidence = QLabel()
        self.confidence.setObjectName("confidence")
        self.expected = QLabel()
        self.expected.setObjectName("expectedLabel")
        facts = QVBoxLayout()
        facts.addStretch(1)
        facts.addWidget(self.confidence)
        facts.addWidget(self.expected)
        facts.addStretch(1)
        top = QHBoxLayout()
        caption = QLabel("Prediction")
        caption.setStyleSheet("color: palette(placeholder-text);")
        top.addWidget(self.headline)
        top.addSpacing(12)
        top.addLayout(facts, 1)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("predictionPlot")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMinimumHeight(110)
        item = self.plot.getPlotItem()
        item.setXRange(0.0, 1.0, padding=0.02)
        item.setLabel("bottom", "probability")
        item.getAxis("bottom").setTicks([[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)]])
        style_plot(self.plot, self)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[])
        item.addItem(self.bars)
        self.values: list[pg.TextItem] = []
        for _ in range(TOP_K):
            label = pg.TextItem(anchor=(0, 0.5), color=text_color(self))
            item.addItem(label)
            self.values.append(label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(caption)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        self.clear()

    def show_analysis(self, analysis: Analysis, expected: str | None = None) -> None:
        top = analysis.top_k(TOP_K)
        self.headline.setText(analysis.predicted_label)
        self.confidence.setText(f"<b>{analysis.confidence:.1%}</b> probability")
        self.confidence.setToolTip("The model's calibrated probability for this label")
        self._show_expected(analysis.predicted_label, expected)
        count = len(top)
        positions = np.arange(count - 1, -1, -1, dtype=float)  # highest at the top
        widths = np.array([p for _, p in top])
        brushes = [pg.mkBrush(_TOP_BAR if i == 0 else _BAR) for i in range(count)]
        self.bars.setOpts(
            x0=np.zeros(count), y=positions, height=0.7, width=widths, brushes=brushes
        )
        item = self.plot.getPlotItem()
        item.getAxis("left").setTicks(
            [[(pos, label) for pos, (label, _) in zip(positions, top, strict=True)]]
        )
        item.setYRange(-0.6, max(count, TOP_K) - 0.4, padding=0)
        for index, text in enumerate(self.values):
            if index < count:
                width = float(widths[index])
                text.setText(f"{width:.1%}")
                if width > 0.8:  # no room after the bar: write inside its end, in white
                    text.setAnchor((1, 0.5))
                    text.setPos(width - 0.01, positions[index])
                    text.setColor("#FFFFFF")
                else:
                    text.setAnchor((0, 0.5))
                    text.setPos(width + 0.01, positions[index])
                    text.setColor(text_color(self))
                text.show()
            else:
                text.hide()

    def _show_expected(self, predicted: str, expected: str | None) -> None:
        if not expected:
            self.expected.clear()
        elif expected == predicted:
            self.expected.setText(f"expected {expected} <span style='color:#2E7D32'>✓</span>")
        else:
            self.expected.setText(f"expected {expected} <span style='color:#C62828'>✗</span>")

    def clear(self) -> None:
        self.headline.setText("—")
        self.confidence.setText("no prediction yet")
        self.expected.clear()
        self.bars.setOpts(x0=[], y=[], width=[], height=0.7)
        self.plot.getPlotItem().getAxis("left").setTicks([[]])
        for text in self.values:
            text.hide()
