"""The dataset summary: per-class accuracy, a clickable confusion matrix, modality reliance per
class, the accuracy of every coalition of modalities, modality interactions per class and the
follow-up checks (swap test, faithfulness). Everything is drawn from the summary dict of
:mod:`mmstudio.datasets.summary`; a generative model's (:mod:`mmstudio.datasets.
generation_summary`) shows exact-match accuracy and reliance per slice, and the accuracy of
every coalition, in the same places, and a table per label (a question kind: exact match, each
coalition's accuracy and the reliance; label_table.py)."""

from __future__ import annotations

import weakref

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from mmstudio.datasets.generation_summary import ALL_RECORDS, LABEL_SLICE
from mmstudio.gui.common.plotting import pg, static_plot
from mmstudio.gui.common.theme import MODALITY_COLORS, style_plot
from mmstudio.gui.dataset.aggregates_panel import AggregatesPanel
from mmstudio.gui.dataset.comparison_panel import ComparisonPanel
from mmstudio.gui.dataset.label_table import LabelTable
from mmstudio.gui.results import colormaps
from mmstudio.result import GENERATION

_AXIS_LABELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The accuracy plot's and the reliance plot's titles, and the coalitions' accuracy tooltip.
_CLASSIFICATION_TITLES = (
    "Accuracy per class",
    "Mean Shapley share per modality, per class",
    "How often the prediction with only these modalities is right",
)
_GENERATION_TITLES = (
    "Exact-match accuracy, all records and per slice (per label when there are labels)",
    "Mean Shapley share of the answer per modality, per slice (per label when there are labels)",
    "How often the answer generated with only these modalities matches the expected one "
    "(measured by mmstudio analyze --coalition-answers; n/a otherwise)",
)


def _plotted_groups(summary: dict) -> list[str]:
    """A generative summary's bars: all records and each label when the records have labels
    (question kinds; the metadata slices stay in the JSON), else all records and each slice:
    a question/answer dataset's extra fields (templates, sources) would crowd the kinds out."""
    groups = list(summary["reliance"])
    labelled = [g for g in groups if g.startswith(f"{LABEL_SLICE}=")]
    return [ALL_RECORDS, *labelled] if labelled else groups


def _label_axis(plot: pg.PlotWidget, side: str, labels: list[str]) -> None:
    axis = plot.getAxis(side)
    # Setting the same ticks again still lays the axis out anew: skip it on every refresh.
    if _AXIS_LABELS.get(axis) != labels:
        axis.setTicks([[(i, label) for i, label in enumerate(labels)]])
        _AXIS_LABELS[axis] = list(labels)


class ConfusionImage(pg.ImageItem):
    """Rows are true labels, columns predictions; a click reports the cell."""

    def __init__(self, on_click):
        super().__init__()
        self._on_click = on_click

    def mouseClickEvent(self, event):  # noqa: N802 - pyqtgraph's name
        image = self.image
        if image is None:
            return
        column, row = int(event.pos().x()), int(event.pos().y())
        if 0 <= row < image.shape[0] and 0 <= column < image.shape[1]:
            event.accept()
            self._on_click(row, column)


class SummaryPanel(QWidget):
    # (true label, predicted label) of the clicked confusion cell.
    confusion_cell_clicked = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary: dict | None = None
        self.headline = QLabel("No results yet")
        self.headline.setObjectName("summary-headline")
        self.accuracy_plot = static_plot("per-class-accuracy", _CLASSIFICATION_TITLES[0])
        self.confusion_plot = static_plot(
            "confusion", "Confusion (rows: label, columns: prediction)"
        )
        self.reliance_plot = static_plot("reliance", _CLASSIFICATION_TITLES[1])
        for plot in (self.accuracy_plot, self.confusion_plot, self.reliance_plot):
            style_plot(plot, self)
        self.accuracy_bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush="#4C78A8")
        self.accuracy_plot.addItem(self.accuracy_bars)
        self.accuracy_plot.setYRange(0, 1)
        self.confusion = ConfusionImage(self._cell_clicked)
        self.confusion.setLookupTable(colormaps.lut("viridis"))
        self.confusion_plot.addItem(self.confusion)
        self.confusion_plot.getViewBox().invertY(True)
        self.confusion_plot.getViewBox().setAspectLocked(True)
        self.reliance_bars: list[pg.BarGraphItem] = []
        self.reliance_plot.addLegend(offset=(-5, 5))
        self.coalitions = QTableWidget(0, 3)
        self.coalitions.setObjectName("coalitions")
        self.coalitions.setHorizontalHeaderLabels(["modalities", "accuracy", "records"])
        self.coalitions.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.coalitions.verticalHeader().hide()
        self.coalitions.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout = QGridLayout(self)
        layout.addWidget(self.headline, 0, 0, 1, 2)
        layout.addWidget(self.accuracy_plot, 1, 0)
        layout.addWidget(self.confusion_plot, 1, 1)
        layout.addWidget(self.reliance_plot, 2, 0)
        layout.addWidget(self.coalitions, 2, 1)
        # A generative model's labels (question kinds), with their coalitions (hidden otherwise).
        self.per_label = LabelTable()
        self.per_label.setVisible(False)
        layout.addWidget(self.per_label, 3, 0, 1, 2)
        # Two models side by side, for rows written with a second model (hidden otherwise).
        self.comparison = ComparisonPanel()
        layout.addWidget(self.comparison, 4, 0, 1, 2)
        self.aggregates = AggregatesPanel()
        layout.addWidget(self.aggregates, 5, 0)
        layout.addWidget(self.aggregates.followups, 5, 1)

    def _cell_clicked(self, row: int, column: int) -> None:
        if self.summary is not None:
            labels = self.summary["labels"]
            self.confusion_cell_clicked.emit(labels[row], labels[column])

    def show_summary(self, summary: dict) -> None:
        self.summary = summary
        generation = summary.get("task") == GENERATION
        self._show_task(generation)
        if generation:
            self._show_generation(summary)
            return
        self.per_label.setVisible(False)
        labels = summary["labels"]
        accuracy = summary["accuracy"]
        self.headline.setText(
            f"<b>{summary['records']:,}</b> records · {summary['errors']:,} unreadable · "
            + (
                f"accuracy <b>{accuracy:.1%}</b> · ECE {summary['ece']:.3f}"
                if accuracy is not None
                else "no labels: predictions and contributions only"
            )
        )
        per_class = [summary["per_class"][label]["accuracy"] for label in labels]
        self.accuracy_bars.setOpts(
            x=np.arange(len(labels)), height=[a or 0.0 for a in per_class], width=0.7
        )
        _label_axis(self.accuracy_plot, "bottom", labels)
        self._show_confusion(np.asarray(summary["confusion"]["matrix"], dtype=np.float64), labels)
        self._show_reliance(summary, labels)
        self._show_coalitions(summary["coalitions"])
        self.aggregates.show_summary(summary)
        self.comparison.show_comparison(summary.get("comparison"))

    def _show_task(self, generation: bool) -> None:
        """A generative model's summary has no classes: no confusion matrix, no interactions
        per class and no follow-up checks; accuracy and reliance are per slice instead."""
        for widget in (self.confusion_plot, self.aggregates, self.aggregates.followups):
            widget.setVisible(not generation)
        titles = _GENERATION_TITLES if generation else _CLASSIFICATION_TITLES
        self.accuracy_plot.setTitle(titles[0])
        self.reliance_plot.setTitle(titles[1])
        self.coalitions.horizontalHeaderItem(1).setToolTip(titles[2])

    def _show_generation(self, summary: dict) -> None:
        accuracy = summary["accuracy"]
        tokens = summary["mean_answer_tokens"]
        self.headline.setText(
            f"<b>{summary['records']:,}</b> records · {summary['errors']:,} unreadable · "
            + (
                f"exact-match accuracy <b>{accuracy:.1%}</b> "
                f"(n={summary['with_expected_answer']:,})"
                if accuracy is not None
                else "no expected answers: answers and contributions only"
            )
            + (f" · {tokens:.1f} tokens per answer" if tokens is not None else "")
        )
        groups = _plotted_groups(summary)
        scores = [summary["reliance"][group]["accuracy"] for group in groups]
        self.accuracy_bars.setOpts(
            x=np.arange(len(groups)), height=[a or 0.0 for a in scores], width=0.7
        )
        # A kind's bar is named by the kind alone: "label=" on every tick would crowd them.
        names = [g.removeprefix(f"{LABEL_SLICE}=") for g in groups]
        _label_axis(self.accuracy_plot, "bottom", names)
        self._show_reliance(summary, groups, names)
        self._show_coalitions(summary["coalitions"])
        self.per_label.show_summary(summary)
        self.comparison.show_comparison(None)

    def _show_confusion(self, matrix: np.ndarray, labels: list[str]) -> None:
        totals = matrix.sum(1, keepdims=True)
        shares = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
        self.confusion.setImage(shares, levels=(0.0, 1.0))
        _label_axis(self.confusion_plot, "left", labels)
        _label_axis(self.confusion_plot, "bottom", labels)

    def _show_reliance(
        self, summary: dict, labels: list[str], names: list[str] | None = None
    ) -> None:
        """Stacked bars of ``summary["reliance"][label]``, ticked with ``names`` (the labels)."""
        modalities = summary["modalities"]
        if [bars.opts["name"] for bars in self.reliance_bars] != modalities:
            self._new_reliance_bars(modalities)
        bottom = np.zeros(len(labels))
        # Bars are updated in place: adding and removing items (and their legend rows) on
        # every refresh of a running dataset costs several times more than new heights.
        for modality, bars in zip(modalities, self.reliance_bars, strict=True):
            share = np.array(
                [summary["reliance"][label]["shapley_share"][modality] or 0.0 for label in labels]
            )
            bars.setOpts(x=np.arange(len(labels)), y0=bottom.copy(), height=share, width=0.7)
            bottom += share
        _label_axis(self.reliance_plot, "bottom", names or labels)
        # Room on the right for the legend, clear of the last bars.
        self.reliance_plot.setXRange(-0.6, len(labels) + 1.2, padding=0)

    def _new_reliance_bars(self, modalities: list[str]) -> None:
        for bars in self.reliance_bars:
            self.reliance_plot.removeItem(bars)
        self.reliance_bars = []
        for modality in modalities:
            bars = pg.BarGraphItem(
                x=[],
                height=[],
                width=0.7,
                brush=MODALITY_COLORS.get(modality, "#888888"),
                name=modality,
            )
            self.reliance_plot.addItem(bars)
            self.reliance_bars.append(bars)
        self.reliance_plot.setYRange(0, 1)

    def _show_coalitions(self, coalitions: dict) -> None:
        self.coalitions.setRowCount(len(coalitions))
        for row, (name, entry) in enumerate(reversed(list(coalitions.items()))):
            accuracy = entry["accuracy"]
            cells = [name, "n/a" if accuracy is None else f"{accuracy:.1%}", f"{entry['count']:,}"]
            for column, text in enumerate(cells):
                self.coalitions.setItem(row, column, QTableWidgetItem(text))
