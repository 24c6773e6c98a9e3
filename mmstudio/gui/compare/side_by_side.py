"""Two analyses side by side: before and after a modality swap, or two models on one sample.

Each column reuses the results panel's own views (prediction, Shapley bars with the
interaction matrix, and the heatmaps of the modalities present), so a number reads the same
here as there. A one-line verdict on top says what the comparison means.

Like the results panel, a pair is drawn one view per turn of the event loop, and a newer pair
replaces the stages still queued: two columns of plots drawn at once would be a visible stall.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.results.audio_view import AudioMapView
from mmstudio.gui.results.contribution_view import ContributionView
from mmstudio.gui.results.image_view import ImageMapView
from mmstudio.gui.results.map_steps import map_steps
from mmstudio.gui.results.prediction_view import PredictionView
from mmstudio.gui.results.text_view import TextMapView
from mmstudio.inputs import Sample
from mmstudio.result import Analysis

EMPTY_TEXT = (
    "Swap a modality (Analysis ▸ Swap Modality) or compare two models (Model ▸ Compare With)\n"
    "to see two analyses side by side."
)


@dataclass(frozen=True)
class Side:
    """One column's content: its title, the analysis, and the sample it analysed."""

    title: str
    analysis: Analysis
    sample: Sample


class AnalysisColumn(QWidget):
    """One analysis, top to bottom: prediction, Shapley bars, interactions, heatmaps."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.title = QLabel()
        self.title.setObjectName(f"{name}Title")
        self.title.setWordWrap(True)
        font = QFont(self.title.font())
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.title.setFont(font)
        self.prediction = PredictionView()
        self.contributions = ContributionView(compact=True)
        self.image_map = ImageMapView()
        self.text_map = TextMapView()
        self.audio_map = AudioMapView()
        self.maps = {"image": self.image_map, "text": self.text_map, "audio": self.audio_map}
        # Bounded both ways: a scroll area gives a growing view all the height it asks for.
        self.image_map.setMinimumHeight(180)
        self.image_map.setMaximumHeight(250)
        self.audio_map.setMinimumHeight(160)
        self.audio_map.setMaximumHeight(220)
        self.text_map.setMinimumHeight(70)
        self.text_map.setMaximumHeight(110)
        # A column is half a dock wide: the views' one-line titles (the text map's legend, the
        # Shapley caption) wrap instead of holding the column wider than the dock.
        for view in self.maps.values():
            view.title.setWordWrap(True)
        # Sized to their content, so the maps below them stay in view; the matrix's long
        # explanation is the results panel's (and its tooltip's) to give.
        self.prediction.setMaximumHeight(220)
        self.contributions.shapley.setMaximumHeight(210)
        self.contributions.interactions.caption.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(8)
        for widget in (
            self.title,
            self.prediction,
            self.contributions,
            self.image_map,
            self.text_map,
            self.audio_map,
        ):
            layout.addWidget(widget)
        layout.addStretch(1)

    def stages(self, side: Side, shown: set[str]) -> list[Callable[[], None]]:
        """The steps that draw ``side``, one view each; ``shown``: the modalities whose maps
        take room (those of either column, so that the two columns' maps stay level)."""
        analysis = side.analysis
        maps = map_steps(analysis, side.sample, self.image_map, self.text_map, self.audio_map)
        return [
            lambda: self._show_title(side.title, shown),
            lambda: self.prediction.show_analysis(analysis),
            lambda: self.contributions.show_shapley(analysis),
            lambda: self.contributions.show_interactions(analysis),
            maps["image"],
            maps["text"],
            maps["audio"],
        ]

    def _show_title(self, title: str, shown: set[str]) -> None:
        self.title.setText(title)
        # A modality neither column analysed has no map to compare: it takes no room.
        for modality, view in self.maps.items():
            view.setVisible(modality in shown)

    def set_colormap(self, name: str) -> None:
        for view in self.maps.values():
            view.set_colormap(name)

    def set_opacity(self, opacity: float) -> None:
        self.image_map.set_opacity(opacity)
        self.audio_map.set_opacity(opacity)


class SideBySidePanel(QWidget):
    """A verdict line above two :class:`AnalysisColumn`; ``rendered`` once both are drawn.

    ``kind`` is what is shown: "" (nothing yet), "swap" or "models".
    """

    rendered = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sideBySidePanel")
        self.kind = ""
        self.pair: tuple[Side, Side] | None = None
        self._style: tuple[str, float] | None = None
        self._stages: list[Callable[[], None]] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_next_stage)
        self.verdict = QLabel()
        self.verdict.setObjectName("sideBySideVerdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont(self.verdict.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.verdict.setFont(font)
        self.detail = QLabel()
        self.detail.setObjectName("sideBySideDetail")
        self.detail.setWordWrap(True)
        self.detail.setStyleSheet("color: palette(placeholder-text);")
        # The swap's Keep and Undo buttons; a comparison of models has nothing to keep.
        self.swap_controls = QWidget()
        self.buttons = QHBoxLayout(self.swap_controls)
        self.buttons.setContentsMargins(0, 0, 0, 0)
        self.buttons.addStretch(1)
        self.swap_controls.hide()
        self.placeholder = QLabel(EMPTY_TEXT)
        self.placeholder.setObjectName("sideBySidePlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: palette(placeholder-text); font-size: 14px;")
        self.left = AnalysisColumn("leftColumn")
        self.right = AnalysisColumn("rightColumn")
        columns = QWidget()
        row = QHBoxLayout(columns)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        row.addWidget(self.left, 1)
        divider = QFrame()
        divider.setFrameShape(QFrame.Shape.VLine)
        divider.setFrameShadow(QFrame.Shadow.Sunken)
        row.addWidget(divider)
        row.addWidget(self.right, 1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(columns)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addWidget(self.verdict)
        layout.addWidget(self.detail)
        layout.addWidget(self.swap_controls)
        layout.addWidget(self.stack, 1)
        self.show_message("")

    def add_button(self, widget: QWidget) -> None:
        """A control under the verdict, shown with a swap (Keep and Undo)."""
        self.buttons.insertWidget(self.buttons.count() - 1, widget)

    def _set_kind(self, kind: str) -> None:
        self.kind = kind
        self.swap_controls.setVisible(kind == "swap" and self.buttons.count() > 1)

    def show_pair(self, kind: str, verdict: str, left: Side, right: Side, detail: str = "") -> None:
        """Draw two analyses, one view per turn of the event loop; ``rendered`` at the end."""
        self._set_kind(kind)
        self.pair = (left, right)
        self.verdict.setText(verdict)
        self.verdict.show()
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))
        # Both columns are drawn in step, so the two halves of the screen change together.
        shown = set(left.analysis.present) | set(right.analysis.present)
        stages = list(
            zip(self.left.stages(left, shown), self.right.stages(right, shown), strict=True)
        )
        self._stages = [stage for pair in stages for stage in pair]
        self._stages.append(self._share_shapley_axis)
        self._stages.append(lambda: self.stack.setCurrentWidget(self.scroll))
        self._timer.start()

    def show_message(self, text: str, kind: str = "") -> None:
        """A message in place of the columns (nothing to compare, or why not)."""
        self._set_kind(kind)
        self.pair = None
        self._stages = []
        self._timer.stop()
        self.verdict.setText(text)
        self.verdict.setVisible(bool(text))
        self.detail.hide()
        self.stack.setCurrentWidget(self.placeholder)

    def _share_shapley_axis(self) -> None:
        """One Shapley scale for both columns: bars of equal length mean equal values."""
        panels = (self.left.contributions.shapley, self.right.contributions.shapley)
        span = max(panel.span for panel in panels)
        for panel in panels:
            panel.span = span
            panel.plot.getPlotItem().setXRange(-span, span, padding=0)

    def is_rendering(self) -> bool:
        return bool(self._stages)

    def _run_next_stage(self) -> None:
        if not self._stages:
            return
        self._stages.pop(0)()
        if self._stages:
            self._timer.start()
        else:
            self.rendered.emit()

    def set_style(self, colormap: str, opacity: float) -> None:
        """The heatmaps' colormap and opacity, as the results panel has them."""
        if (colormap, opacity) == self._style:
            return
        self._style = (colormap, opacity)
        for column in (self.left, self.right):
            column.set_colormap(colormap)
            column.set_opacity(opacity)
