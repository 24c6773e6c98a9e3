"""Live curves of a comparison: one plot per metric, one colour per strategy, the mean over its
seeds as a line over a band (the 95% interval of the mean, or min–max), each seed's own line
faint behind them. Hovering near a seed's line brings it forward and names it.

The reader does the arithmetic (:mod:`mmstudio.studio_runs.bands`); a plot only hands each
item its arrays with ``setData``, so a poll that read nothing new costs nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from mmstudio.gui.common.plotting import pg
from mmstudio.gui.common.theme import style_plot
from mmstudio.studio_runs import ComparisonReader

# Tableau 10 again, one colour per strategy, the same in every plot of the comparison.
STRATEGY_COLORS = {
    "concat": "#4C78A8",
    "late": "#F58518",
    "gated": "#54A24B",
    "tensor": "#E45756",
    "attention": "#B279A2",
}
SPARE_COLORS = ("#72B7B2", "#EECA3B", "#9D755D", "#FF9DA6", "#BAB0AC")
BAND_CI = "95% interval"
BAND_RANGE = "min–max"
HOVER_PIXELS = 8


def strategy_color(fusion: str, index: int) -> QColor:
    return QColor(STRATEGY_COLORS.get(fusion) or SPARE_COLORS[index % len(SPARE_COLORS)])


@dataclass
class StrategyItems:
    """The items of one strategy in one plot."""

    mean: pg.PlotDataItem
    lower: pg.PlotDataItem
    upper: pg.PlotDataItem
    fill: pg.FillBetweenItem
    seeds: dict[str, pg.PlotDataItem] = field(default_factory=dict)


class CurvePlot(pg.PlotWidget):
    """One metric of every strategy: ``show(reader, metric)`` brings it up to date."""

    def __init__(
        self, name: str, title: str, y_label: str, bounds: tuple[float, float | None]
    ) -> None:
        super().__init__(title=title)
        # Where the metric can lie: a 95% band from two seeds (t = 12.7) reaches far past an
        # accuracy of 1 or a loss of 0, and would squash the curves into a sliver.
        self.bounds = bounds
        self.setObjectName(name)
        self.setMinimumHeight(170)
        self.setLabel("bottom", "optimiser step")
        self.setLabel("left", y_label)
        # Accuracies are fractions: "×0.001" on the axis would only confuse.
        self.getAxis("left").enableAutoSIPrefix(False)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.addLegend(offset=(-10, 10))
        style_plot(self, self)
        self.items: dict[str, StrategyItems] = {}
        self.band_kind = BAND_RANGE
        self.metric = ""
        self._labels: dict[pg.PlotDataItem, str] = {}
        self._highlighted: pg.PlotDataItem | None = None
        self.hover_label = pg.TextItem(anchor=(0, 1))
        self.hover_label.setZValue(30)
        self.hover_label.hide()
        self.addItem(self.hover_label, ignoreBounds=True)
        self._proxy = pg.SignalProxy(
            self.scene().sigMouseMoved, rateLimit=30, slot=lambda args: self._hover(args[0])
        )

    def clear_curves(self) -> None:
        for items in self.items.values():
            for item in (items.mean, items.lower, items.upper, items.fill, *items.seeds.values()):
                self.removeItem(item)
        self.legend.clear()
        self.items.clear()
        self._labels.clear()
        self._highlighted = None

    def show(self, reader: ComparisonReader, metric: str | None = None) -> None:  # noqa: A003
        if metric is not None and metric != self.metric:
            self.metric = metric
            self.clear_curves()
        for index, fusion in enumerate(reader.fusions):
            items = self.items.get(fusion) or self._add_strategy(fusion, index)
            band = reader.band(fusion, self.metric)
            steps = np.asarray(band.steps, dtype=float)
            low, high = (
                (band.ci_low, band.ci_high) if self.band_kind == BAND_CI else (band.low, band.high)
            )
            floor, ceiling = self.bounds
            items.mean.setData(steps, np.asarray(band.mean))
            items.lower.setData(steps, np.clip(np.asarray(low, dtype=float), floor, ceiling))
            items.upper.setData(steps, np.clip(np.asarray(high, dtype=float), floor, ceiling))
            for run in reader.runs_of(fusion):
                line = items.seeds.get(run.id)
                if line is None:
                    line = self._add_seed(items, fusion, index, run.id, run.seed)
                series = reader.series(run.id, self.metric)
                points = sorted(series.items())
                line.setData(
                    np.asarray([p[0] for p in points], dtype=float),
                    np.asarray([p[1] for p in points], dtype=float),
                )

    def set_band_kind(self, kind: str, reader: ComparisonReader | None) -> None:
        self.band_kind = kind
        if reader is not None:
            self.show(reader)

    def _add_strategy(self, fusion: str, index: int) -> StrategyItems:
        color = strategy_color(fusion, index)
        mean = pg.PlotDataItem(pen=pg.mkPen(color, width=2.5), name=fusion)
        mean.setZValue(10)
        edge = QColor(color)
        edge.setAlpha(0)
        lower = pg.PlotDataItem(pen=pg.mkPen(edge))
        upper = pg.PlotDataItem(pen=pg.mkPen(edge))
        shade = QColor(color)
        shade.setAlpha(55)
        fill = pg.FillBetweenItem(lower, upper, brush=pg.mkBrush(shade))
        fill.setZValue(1)
        for item in (fill, lower, upper, mean):
            self.addItem(item)
        items = StrategyItems(mean, lower, upper, fill)
        self.items[fusion] = items
        return items

    def _add_seed(self, items: StrategyItems, fusion, index, run_id, seed) -> pg.PlotDataItem:
        color = strategy_color(fusion, index)
        color.setAlpha(90)
        line = pg.PlotDataItem(pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine))
        line.setZValue(5)
        self.addItem(line)
        items.seeds[run_id] = line
        self._labels[line] = f"{fusion}, seed {seed}"
        return line

    # Hover: the seed line nearest the pointer, within a few pixels

    def _hover(self, position: QPointF) -> None:
        box = self.plotItem.vb
        if not box.sceneBoundingRect().contains(position) or not self._labels:
            self._highlight(None, None)
            return
        point = box.mapSceneToView(position)
        _, pixel_h = box.viewPixelSize()
        best, best_distance, best_value = None, float(HOVER_PIXELS), None
        for line in self._labels:
            x, y = line.getData()
            if x is None or len(x) == 0 or not x[0] <= point.x() <= x[-1]:
                continue
            value = float(np.interp(point.x(), x, y))
            distance = abs(value - point.y()) / max(pixel_h, 1e-12)
            if distance < best_distance:
                best, best_distance, best_value = line, distance, value
        self._highlight(best, None if best is None else (point.x(), best_value))

    def _highlight(self, line: pg.PlotDataItem | None, where) -> None:
        if line is self._highlighted and line is None:
            return
        if self._highlighted is not None and self._highlighted is not line:
            pen = pg.mkPen(self._highlighted.opts["pen"])
            color = pen.color()
            color.setAlpha(90)
            pen.setColor(color)
            pen.setWidthF(1)
            pen.setStyle(Qt.PenStyle.DashLine)
            self._highlighted.setPen(pen)
            self._highlighted.setZValue(5)
        self._highlighted = line
        if line is None:
            self.hover_label.hide()
            return
        pen = pg.mkPen(line.opts["pen"])
        color = pen.color()
        color.setAlpha(255)
        pen.setColor(color)
        pen.setWidthF(2)
        pen.setStyle(Qt.PenStyle.SolidLine)
        line.setPen(pen)
        line.setZValue(20)
        step, value = where
        self.hover_label.setColor(color)
        self.hover_label.setText(f"{self._labels[line]}: {value:.3g} at step {step:.0f}")
        self.hover_label.setPos(step, value)
        self.hover_label.show()

    @property
    def highlighted(self) -> str | None:
        """The label of the seed line the pointer is on, if any."""
        return None if self._highlighted is None else self._labels[self._highlighted]
