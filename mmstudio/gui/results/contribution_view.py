"""How much each modality mattered, two ways that answer different questions, side by side.

Shapley values say what changed the answer: the predicted label's log-probability with every
modality absent (the base), plus each modality's fair share of the change, adds up to the
full-input score. Fusion weights say what the model attended to inside its fusion layer; a
modality can take much attention and still change little.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mmstudio.gui.common.plotting import pg
from mmstudio.gui.common.theme import (
    MODALITY_COLORS,
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    style_plot,
    text_color,
)
from mmstudio.gui.results.interaction_view import InteractionView
from mmstudio.result import Analysis

SHAPLEY_TITLE = "Shapley contribution — what changed the answer"
WEIGHTS_TITLE = "Model's fusion weights — what it attended to"


def _bar_plot(name: str) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setObjectName(name)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setMinimumHeight(100)
    return plot


class _Panel(QWidget):
    """A title, a one-line explanation under it, and a horizontal bar plot."""

    def __init__(self, title: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(f"<b>{title}</b>")
        self.title.setWordWrap(True)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: palette(placeholder-text);")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # Room for two lines from the start: a caption that grows with its numbers would resize
        # (and so repaint twice) the plot under it on every result.
        self.caption.setMinimumHeight(self.caption.fontMetrics().lineSpacing() * 2 + 2)
        self.plot = _bar_plot(name)
        style_plot(self.plot, self)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.6, width=[])
        self.plot.addItem(self.bars)
        self.values: list[pg.TextItem] = []
        self.labels: list[str] = []
        self.span = 0.0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)

    def set_rows(self, labels: list[str]) -> np.ndarray:
        self.labels = list(labels)
        positions = np.arange(len(labels) - 1, -1, -1, dtype=float)
        self.plot.getPlotItem().getAxis("left").setTicks(
            [list(zip(positions, labels, strict=True))]
        )
        self.plot.getPlotItem().setYRange(-0.6, len(labels) - 0.4, padding=0)
        while len(self.values) < len(labels):
            text = pg.TextItem(anchor=(0, 0.5))
            self.plot.addItem(text)
            self.values.append(text)
        return positions

    def set_value_text(self, index: int, text: str, x: float, y: float, anchor_right: bool) -> None:
        item = self.values[index]
        item.setAnchor((1, 0.5) if anchor_right else (0, 0.5))
        item.setColor(text_color(self))
        item.setText(text)
        item.setPos(x, y)
        item.show()

    def clear(self) -> None:
        self.labels = []
        self.bars.setOpts(x0=[], y=[], width=[], height=0.6)
        self.plot.getPlotItem().getAxis("left").setTicks([[]])
        for text in self.values:
            text.hide()


class ContributionView(QWidget):
    """``compact``: the Shapley bars above the interaction matrix, without the fusion weights,
    for a narrow column (the side-by-side panel)."""

    def __init__(self, parent: QWidget | None = None, *, compact: bool = False) -> None:
        super().__init__(parent)
        self.shapley = _Panel(SHAPLEY_TITLE, "shapleyPlot")
        self.weights = _Panel(WEIGHTS_TITLE, "fusionWeightsPlot")
        self.interactions = InteractionView()
        self.shapley.plot.getPlotItem().setLabel("bottom", "Δ log-probability")
        # Log-probabilities are read as plain numbers; an SI prefix ("x0.001") would only confuse.
        self.shapley.plot.getPlotItem().getAxis("bottom").enableAutoSIPrefix(False)
        self.weights.plot.getPlotItem().setLabel("bottom", "share of the fusion weight")
        self.weights.plot.getPlotItem().setXRange(0.0, 1.0, padding=0.02)
        self.weights.plot.getPlotItem().getAxis("bottom").setTicks(
            [[(v, f"{v:.0%}") for v in (0, 0.5, 1.0)]]
        )
        self._zero = pg.InfiniteLine(pos=0.0, angle=90, pen=pg.mkPen((128, 128, 128), width=1))
        self.shapley.plot.addItem(self._zero)
        layout = QVBoxLayout(self) if compact else QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(self.shapley, 1)
        layout.addWidget(self.interactions)
        if compact:
            self.weights.setParent(self)  # owned, never shown: no window of its own
            self.weights.hide()
        else:
            layout.addWidget(self.weights, 1)
        self.clear()

    def show_analysis(self, analysis: Analysis) -> None:
        self.show_shapley(analysis)
        self.show_interactions(analysis)
        self.show_weights(analysis)

    def show_interactions(self, analysis: Analysis) -> None:
        self.interactions.show_analysis(analysis)

    def _row_labels(self, analysis: Analysis) -> list[str]:
        return [m if m in analysis.present else f"{m} (off)" for m in analysis.modalities]

    def show_shapley(self, analysis: Analysis) -> None:
        panel = self.shapley
        positions = panel.set_rows(self._row_labels(analysis))
        values = np.array([analysis.shapley.get(m, 0.0) for m in analysis.modalities])
        present = [m in analysis.present for m in analysis.modalities]
        brushes = [pg.mkBrush(POSITIVE_COLOR if v >= 0 else NEGATIVE_COLOR) for v in values]
        panel.bars.setOpts(
            x0=np.minimum(values, 0.0),
            y=positions,
            width=np.abs(values),
            height=0.6,
            brushes=brushes,
        )
        span = _nice_span(float(np.abs(values).max(initial=0.0)))
        if span != panel.span:
            # Steps of 1-2-5: the axis stays put while the values move within a step, which is
            # easier to read and spares pyqtgraph a second repaint for the range change.
            panel.span = span
            panel.plot.getPlotItem().setXRange(-span, span, padding=0)
        for index, (value, shown) in enumerate(zip(values, present, strict=True)):
            # The value sits beside the zero line, on the side the bar does not use, so it never
            # runs into the axis labels however narrow the plot is.
            text = f"{value:+.2f}" if shown else "absent"
            panel.set_value_text(
                index, text, 0.0, positions[index], anchor_right=shown and value > 0
            )
        panel.caption.setText(
            f"log p(“{analysis.predicted_label}”): {analysis.shapley_base:+.2f} with no input, "
            f"{analysis.full_score:+.2f} with all; red raises it, blue lowers it"
        )
        panel.caption.setToolTip(
            "Exact Shapley values over the modalities. The value function is the log-probability of the "
            "predicted label; the base is its value with every modality absent, and base + contributions "
            "equals the value with the full input."
        )

    def show_weights(self, analysis: Analysis) -> None:
        panel = self.weights
        positions = panel.set_rows(self._row_labels(analysis))
        if not analysis.fusion_weights:
            panel.bars.setOpts(x0=[], y=[], width=[], height=0.6)
            for text in panel.values:
                text.hide()
            panel.caption.setText("This model's fusion layer has no per-modality weights to show.")
            return
        weights = np.array([analysis.fusion_weights.get(m, 0.0) for m in analysis.modalities])
        brushes = [pg.mkBrush(MODALITY_COLORS.get(m, "#888888")) for m in analysis.modalities]
        panel.bars.setOpts(
            x0=np.zeros(len(weights)), y=positions, width=weights, height=0.6, brushes=brushes
        )
        for index, (modality, weight) in enumerate(zip(analysis.modalities, weights, strict=True)):
            text = f"{weight:.0%}" if modality in analysis.present else "absent"
            panel.set_value_text(
                index, text, min(weight + 0.02, 0.8), positions[index], anchor_right=False
            )
        kind = analysis.fusion_weights_kind or "the model's own weighting of each modality"
        panel.caption.setText(f"{kind[0].upper()}{kind[1:]} (sums to 100%).")

    def clear(self) -> None:
        self.shapley.clear()
        self.weights.clear()
        self.interactions.clear()
        self.shapley.caption.setText(
            "Exact Shapley values of the modalities, once there is a prediction."
        )
        self.weights.caption.setText("The fusion layer's weight on each modality.")

    def shapley_rows(self) -> dict[str, str]:
        """Row label -> value text, as shown (for tests and accessibility)."""
        panel = self.shapley
        return {
            label: panel.values[i].textItem.toPlainText() for i, label in enumerate(panel.labels)
        }


def _nice_span(largest: float) -> float:
    """The smallest of 0.05, 0.1, 0.2, 0.5, 1, 2, 5, ... that leaves a little room past ``largest``."""
    target = max(largest * 1.1, 0.05)
    scale = 10.0 ** np.floor(np.log10(target))
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * scale >= target:
            return float(step * scale)
    return float(10.0 * scale)
