"""The right-hand side: the prediction and contributions above, the heatmaps below.

Two things keep the window responsive here:

* The views are built after the window's first paint (``build``), not in the constructor:
  nine pyqtgraph plots take a noticeable fraction of a second to create, and until a model is
  loaded the panel only shows a placeholder anyway.
* A result is drawn one view per turn of the event loop (``show_analysis`` queues the stages),
  so each repaint covers one view, a few milliseconds, instead of freezing the window for all
  of them at once. A newer result replaces the stages still queued: the latest wins here too.
* Results are drawn at most every MIN_RENDER_INTERVAL_MS; one arriving sooner waits (and is
  replaced by a newer one). Nobody reads ten heatmaps a second, and a stream of results would
  otherwise keep the GUI thread busy drawing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.results import colormaps
from mmstudio.gui.results.map_controls import map_controls_row
from mmstudio.gui.results.map_steps import map_steps
from mmstudio.inputs import Sample
from mmstudio.result import Analysis, AnyAnalysis, GenerationAnalysis

DEFAULT_OPACITY = 0.55
SPLITTERS = ("resultsSplitter", "summarySplitter", "mapsSplitter", "textSplitter")
MIN_RENDER_INTERVAL_MS = 200


class ResultsPanel(QWidget):
    rendered = Signal(int)  # every view now shows the result of this request id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsPanel")
        self.analysis: AnyAnalysis | None = None
        self.answer = None  # the AnswerView, built the first time a generative model answers
        self.built = False
        self._colormap = colormaps.DEFAULT
        self._opacity = DEFAULT_OPACITY
        self._splitter_states: dict[str, QByteArray] = {}
        self._stages: list[Callable[[], None]] = []
        self._stage_timer = QTimer(self)
        self._stage_timer.setSingleShot(True)
        self._stage_timer.setInterval(0)
        self._stage_timer.timeout.connect(self._run_next_stage)
        self._held: tuple | None = None
        self._render_id = 0
        self._render_throttled = None  # made in build(): superqt is imported after the show
        self.placeholder = QLabel()
        self.placeholder.setObjectName("resultsPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: palette(placeholder-text); font-size: 15px;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.show_placeholder(
            "Drop an image, type some text or record audio\nto see what the model predicts."
        )

    # Building

    def build(self) -> None:
        """Create the views (once). Called after the first paint, or when first needed."""
        if self.built:
            return
        self.built = True
        # Imported here as well as built here: pyqtgraph's plot modules are part of the cost.
        from superqt.utils import qthrottled

        from mmstudio.gui.results.audio_view import AudioMapView
        from mmstudio.gui.results.contribution_view import ContributionView
        from mmstudio.gui.results.fusion_view import FusionAttentionView
        from mmstudio.gui.results.image_view import ImageMapView
        from mmstudio.gui.results.prediction_view import PredictionView
        from mmstudio.gui.results.text_view import TextMapView

        # The first result after a pause is drawn at once; later ones at most every interval,
        # the newest of those that came meanwhile.
        self._render_throttled = qthrottled(
            self._render_held, timeout=MIN_RENDER_INTERVAL_MS, leading=True, parent=self
        )
        self.prediction = PredictionView()
        self.contributions = ContributionView()
        self.image_map = ImageMapView()
        self.audio_map = AudioMapView()
        self.text_map = TextMapView()
        self.fusion_map = FusionAttentionView()
        self.notes = QLabel()
        self.notes.setObjectName("analysisNotes")
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: palette(placeholder-text);")
        self.notes.hide()
        self.splitter = self._build_splitters()
        self.stack.addWidget(self.splitter)
        self.set_colormap(self._colormap)
        self.set_opacity(self._opacity)
        for name, splitter in self.splitters().items():
            if name in self._splitter_states:
                splitter.restoreState(self._splitter_states[name])

    def _build_splitters(self) -> QSplitter:
        self.summary_splitter = _splitter(
            "summarySplitter",
            Qt.Orientation.Horizontal,
            [(self.prediction, 2), (self.contributions, 3)],
        )
        self.maps_splitter = _splitter(
            "mapsSplitter", Qt.Orientation.Horizontal, [(self.image_map, 1), (self.audio_map, 1)]
        )
        self.text_splitter = _splitter(
            "textSplitter",
            Qt.Orientation.Vertical,
            [(self.maps_splitter, 4), (self.text_map, 1), (self.fusion_map, 1)],
        )
        maps = QWidget()
        maps_layout = QVBoxLayout(maps)
        maps_layout.setContentsMargins(0, 0, 0, 0)
        maps_layout.setSpacing(4)
        maps_layout.addLayout(self._build_map_controls())
        maps_layout.addWidget(self.text_splitter, 1)
        maps_layout.addWidget(self.notes)
        splitter = _splitter(
            "resultsSplitter", Qt.Orientation.Vertical, [(self.summary_splitter, 2), (maps, 3)]
        )
        splitter.setChildrenCollapsible(False)
        return splitter

    def _build_map_controls(self) -> QHBoxLayout:
        row, self.colormap_box, self.opacity_slider = map_controls_row(
            ("colormapBox", "opacitySlider"),
            "Colormap of the heatmaps",
            "Opacity of the heatmaps over the image and the spectrogram",
        )
        self.colormap_box.currentTextChanged.connect(self._on_colormap_changed)
        self.opacity_slider.valueChanged.connect(self._on_opacity_changed)
        return row

    def lay_out_unseen(self) -> None:
        """Show the (empty) views once with painting off, so that laying out the splitters and
        resizing every plot happens now, while the model loads, rather than as a stall when the
        first result arrives."""
        self.build()
        if self.stack.currentWidget() is not self.placeholder:
            return
        self.stack.setUpdatesEnabled(False)
        self.stack.setCurrentWidget(self.splitter)
        QTimer.singleShot(0, self._end_unseen_layout)

    def _end_unseen_layout(self) -> None:
        if (
            self.analysis is None
            and self._held is None
            and self.stack.currentWidget() is self.splitter
        ):
            self.stack.setCurrentWidget(self.placeholder)
        self.stack.setUpdatesEnabled(True)

    # Showing results

    def show_analysis(
        self,
        analysis: Analysis,
        sample: Sample,
        expected: str | None = None,
        note: str = "",
        request_id: int = 0,
    ) -> None:
        """Draw ``analysis``; ``rendered(request_id)`` is emitted once every view shows it."""
        self.build()
        if isinstance(analysis, GenerationAnalysis):
            self._show_answer(analysis, sample, request_id, note)
            return
        self.analysis = analysis
        self._held = (analysis, sample, expected, note, request_id)
        if self.stack.currentWidget() is self.splitter:
            self._render_throttled()
        else:
            self._render_held()  # replacing a placeholder: nothing to wait for

    # A generative model's answer

    def answer_view(self):
        """The answer view, built on first use (a classifier's window never builds it)."""
        if self.answer is None:
            from mmstudio.gui.results.answer_view import AnswerView

            self.answer = AnswerView()
            self.answer.set_colormap(self._colormap)
            self.answer.set_opacity(self._opacity)
            # One look for every map: chosen here or there, both follow.
            self.answer.colormap_chosen.connect(self.set_colormap)
            self.answer.opacity_chosen.connect(self.set_opacity)
            self.stack.addWidget(self.answer)
        return self.answer

    def show_stream(self, tokens, sample: Sample | None) -> None:
        """The answer of the generation running now, so far (its tokens as they read)."""
        self.build()
        self._drop_held()
        view = self.answer_view()
        view.show_stream(list(tokens), sample)
        self.stack.setCurrentWidget(view)

    def _show_answer(
        self, analysis: GenerationAnalysis, sample: Sample, request_id: int, note: str = ""
    ) -> None:
        # One result per generation: nothing to throttle, and the answer view draws in one go.
        self._drop_held()
        self.analysis = analysis
        view = self.answer_view()
        view.show_analysis(analysis, sample, note)
        self.stack.setCurrentWidget(view)
        self._render_id = request_id
        self.rendered.emit(request_id)

    def _drop_held(self) -> None:
        """Forget a classifier result still waiting to be drawn."""
        self._stages = []
        self._stage_timer.stop()
        self._held = None
        if self._render_throttled is not None:
            self._render_throttled.cancel()

    def _render_held(self) -> None:
        if self._held is None:
            return
        (analysis, sample, expected, note, request_id), self._held = self._held, None
        self._render_id = request_id
        maps = map_steps(analysis, sample, self.image_map, self.text_map, self.audio_map)
        notes = " · ".join(filter(None, [note, *(f"Note: {n}" for n in analysis.notes)]))
        self._stages = [
            lambda: self._show_first(analysis, expected, notes),
            lambda: self.contributions.show_shapley(analysis),
            lambda: self.contributions.show_interactions(analysis),
            lambda: self.contributions.show_weights(analysis),
            maps["image"],
            maps["audio"],
            maps["text"],
            lambda: self.fusion_map.show_analysis(analysis),
        ]
        self._run_next_stage()

    def _show_first(self, analysis: Analysis, expected: str | None, notes: str) -> None:
        self.prediction.show_analysis(analysis, expected)
        self.notes.setText(notes)
        self.notes.setVisible(bool(notes))
        self.stack.setCurrentWidget(self.splitter)

    def _run_next_stage(self) -> None:
        if not self._stages:
            return
        self._stages.pop(0)()
        if self._stages:
            self._stage_timer.start()  # the repaint of this view happens before the next stage
        else:
            self.rendered.emit(self._render_id)

    def is_rendering(self) -> bool:
        return bool(self._stages) or self._held is not None

    def show_placeholder(self, text: str) -> None:
        self._drop_held()
        self.analysis = None
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)

    def has_result(self) -> bool:
        return self.analysis is not None

    # Heatmap settings

    @property
    def colormap(self) -> str:
        return self._colormap

    def set_colormap(self, name: str) -> None:
        self._colormap = name if name in colormaps.CHOICES else colormaps.DEFAULT
        if self.built:
            self.colormap_box.setCurrentText(self._colormap)
            self._on_colormap_changed(self._colormap)

    @property
    def opacity(self) -> float:
        return self._opacity

    def set_opacity(self, opacity: float) -> None:
        self._opacity = min(max(float(opacity), 0.0), 1.0)
        if self.built:
            self.opacity_slider.setValue(round(self._opacity * 100))
            self._on_opacity_changed(self.opacity_slider.value())

    def _on_colormap_changed(self, name: str) -> None:
        self._colormap = name
        for view in (self.image_map, self.audio_map, self.text_map):
            view.set_colormap(name)
        if self.answer is not None:
            self.answer.set_colormap(name)

    def _on_opacity_changed(self, value: int) -> None:
        self._opacity = value / 100.0
        for view in (self.image_map, self.audio_map):
            view.set_opacity(self._opacity)
        if self.answer is not None:
            self.answer.set_opacity(self._opacity)

    # Splitter state, kept across the deferred build

    def splitters(self) -> dict[str, QSplitter]:
        if not self.built:
            return {}
        return {
            s.objectName(): s
            for s in (self.splitter, self.summary_splitter, self.maps_splitter, self.text_splitter)
        }

    def splitter_states(self) -> dict[str, QByteArray]:
        states = dict(self._splitter_states)
        states.update({name: splitter.saveState() for name, splitter in self.splitters().items()})
        return states

    def restore_splitter_states(self, states: dict[str, QByteArray]) -> None:
        self._splitter_states = dict(states)
        for name, splitter in self.splitters().items():
            if name in states:
                splitter.restoreState(states[name])


def _splitter(
    name: str, orientation: Qt.Orientation, widgets: list[tuple[QWidget, int]]
) -> QSplitter:
    splitter = QSplitter(orientation)
    splitter.setObjectName(name)
    for index, (widget, stretch) in enumerate(widgets):
        splitter.addWidget(widget)
        splitter.setStretchFactor(index, stretch)
    return splitter
