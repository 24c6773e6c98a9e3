"""Two models on one dataset, side by side: how often they agree, their accuracy per class as
paired bars, and how each relies on the modalities per class (stacked Shapley shares, the
loaded model's bar left of the compared model's). Drawn from the ``comparison`` section of a
summary (:mod:`mmstudio.datasets.comparison_summary`); hidden for rows of one model.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from mmstudio.datasets.figures import percent
from mmstudio.gui.common.plotting import pg, static_plot
from mmstudio.gui.common.theme import MODALITY_COLORS, style_plot

FIRST_COLOR, SECOND_COLOR = "#4C78A8", "#E45756"
# Each class has two bars, the loaded model's at -OFFSET and the compared model's at +OFFSET.
OFFSET, WIDTH = 0.2, 0.38


class ComparisonPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.comparison: dict | None = None
        self.headline = QLabel()
        self.headline.setObjectName("comparison-headline")
        self.headline.setWordWrap(True)
        self.accuracy_plot = static_plot("compared-accuracy", "Accuracy per class, both models")
        self.reliance_plot = static_plot(
            "compared-reliance", "Mean Shapley share per class (left: loaded, right: compared)"
        )
        for plot in (self.accuracy_plot, self.reliance_plot):
            style_plot(plot, self)
        self.accuracy_plot.addLegend(offset=(-5, 5))
        self.first_bars = pg.BarGraphItem(x=[], height=[], width=WIDTH, brush=FIRST_COLOR)
        self.second_bars = pg.BarGraphItem(x=[], height=[], width=WIDTH, brush=SECOND_COLOR)
        self.accuracy_plot.addItem(self.first_bars)
        self.accuracy_plot.addItem(self.second_bars)
        self.accuracy_plot.setYRange(0, 1)
        self.reliance_plot.addLegend(offset=(-5, 5))
        self.reliance_bars: list[pg.BarGraphItem] = []
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline, 0, 0, 1, 2)
        layout.addWidget(self.accuracy_plot, 1, 0)
        layout.addWidget(self.reliance_plot, 1, 1)
        self.setVisible(False)

    def show_comparison(self, comparison: dict | None) -> None:
        self.comparison = comparison
        self.setVisible(comparison is not None)
        if comparison is None:
            return
        first, second = comparison["model"] or "loaded", comparison["compare_model"] or "compared"
        compared = comparison["compared"]
        text = (
            f"Compared with <b>{second}</b>: the models agree on "
            f"<b>{percent(comparison['agreement'])}</b> of {compared:,} records "
            f"({compared - comparison['agreed']:,} disagree)"
        )
        if comparison["accuracy"] is not None:
            text += (
                f" · accuracy {first} {percent(comparison['accuracy'])}, {second} "
                f"{percent(comparison['compare_accuracy'])} · only {first} right "
                f"{comparison['only_model_right']:,}, only {second} right "
                f"{comparison['only_compare_right']:,}"
            )
        self.headline.setText(text)
        labels = list(comparison["per_class"])
        self._show_accuracy(comparison, labels, first, second)
        self._show_reliance(comparison, labels)

    def _show_accuracy(self, comparison: dict, labels: list[str], first: str, second: str):
        x = np.arange(len(labels), dtype=np.float64)
        entries = [comparison["per_class"][label] for label in labels]
        self.first_bars.setOpts(
            x=x - OFFSET, height=[e["accuracy"] or 0.0 for e in entries], width=WIDTH
        )
        self.second_bars.setOpts(
            x=x + OFFSET, height=[e["compare_accuracy"] or 0.0 for e in entries], width=WIDTH
        )
        legend = self.accuracy_plot.getPlotItem().legend
        legend.clear()
        legend.addItem(self.first_bars, first)
        legend.addItem(self.second_bars, second)
        self.accuracy_plot.getAxis("bottom").setTicks([list(enumerate(labels))])
        self.accuracy_plot.setXRange(-0.6, len(labels) + 1.2, padding=0)

    def _show_reliance(self, comparison: dict, labels: list[str]) -> None:
        for bars in self.reliance_bars:
            self.reliance_plot.removeItem(bars)
        self.reliance_bars = []
        x = np.arange(len(labels), dtype=np.float64)
        named: set[str] = set()
        for key, shift in (("shapley_share", -OFFSET), ("compare_shapley_share", OFFSET)):
            bottom = np.zeros(len(labels))
            modalities = list(comparison["reliance"][labels[0]][key]) if labels else []
            for modality in modalities:
                share = np.array(
                    [comparison["reliance"][label][key][modality] or 0.0 for label in labels]
                )
                bars = pg.BarGraphItem(
                    x=x + shift,
                    y0=bottom.copy(),
                    height=share,
                    width=WIDTH,
                    brush=MODALITY_COLORS.get(modality, "#888888"),
                    # One legend entry per modality, not one per model.
                    name=None if modality in named else modality,
                )
                named.add(modality)
                self.reliance_plot.addItem(bars)
                self.reliance_bars.append(bars)
                bottom += share
        self.reliance_plot.getAxis("bottom").setTicks([list(enumerate(labels))])
        self.reliance_plot.setYRange(0, 1)
        self.reliance_plot.setXRange(-0.6, len(labels) + 1.2, padding=0)
