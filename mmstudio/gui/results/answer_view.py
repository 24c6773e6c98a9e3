"""A generative model's answer, streaming in token by token, then every token explained.

Above, the answer, a strip under each token with its modality shares (answer_tokens.py). Below,
the explanation of the selected token, or of the whole answer when none is selected: its exact
Shapley bars and interaction matrix (the classifier's views, reading the token through
answer_explanation.py) and its maps over the image, the spectrogram and the prompt's words.
Hovering a token shows it for as long as the mouse stays; clicking selects it, clicking it
again (or Esc) goes back to the whole answer, Left and Right step through the tokens.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.results.answer_explanation import FINISHED, explained, quoted, selection_maps
from mmstudio.gui.results.answer_tokens import AnswerTokens, share_legend
from mmstudio.gui.results.audio_view import AudioMapView
from mmstudio.gui.results.contribution_view import ContributionView
from mmstudio.gui.results.image_view import ImageMapView
from mmstudio.gui.results.map_controls import map_controls_row
from mmstudio.gui.results.text_view import TextMapView
from mmstudio.inputs import Sample
from mmstudio.result import GenerationAnalysis

HINT = "Click a token to explain it · click it again or Esc for the whole answer · ← → step"


class AnswerView(QWidget):
    """Signals: selection_shown(index or None) once the explanation of a selection (or of the
    whole answer, None) is on screen; colormap_chosen(name) and opacity_chosen(fraction) when
    the user changes the maps' look here (the results panel keeps one setting for all maps)."""

    selection_shown = Signal(object)
    colormap_chosen = Signal(str)
    opacity_chosen = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("answerView")
        self.analysis: GenerationAnalysis | None = None
        self.sample: Sample | None = None
        self.selected: int | None = None
        self.shown: int | None = None  # what the explanation views show (hover included)
        self.streaming = False
        self._pane_sizes: list[int] = []
        self.heading = QLabel("<b>Answer</b>")
        self.heading.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("answerStatus")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: palette(placeholder-text);")
        self.tokens = AnswerTokens()
        self.tokens.hovered.connect(self._on_hovered)
        self.tokens.clicked.connect(self._on_clicked)
        self.tokens.stepped.connect(self.step)
        self.tokens.escaped.connect(lambda: self.select(None))
        self.scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.tokens)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.legend = QLabel(share_legend([]))
        self.legend.setWordWrap(True)
        self.contrastive = QLabel()
        self.contrastive.setObjectName("contrastiveAnswers")
        self.contrastive.setWordWrap(True)
        self.contrastive.hide()
        self.notes = QLabel()
        self.notes.setObjectName("answerNotes")
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: palette(placeholder-text);")
        self.selection = QLabel()
        self.selection.setObjectName("answerSelection")
        self.selection.setWordWrap(True)
        self.contributions = ContributionView()
        # A generator has no fusion layer of ours: the weights panel would only say so.
        self.contributions.weights.hide()
        self.image_map = ImageMapView()
        self.audio_map = AudioMapView()
        self.text_map = TextMapView()
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(3)
        for widget, stretch in (
            (self.heading, 0),
            (scroll, 1),
            (self.legend, 0),
            (self.status, 0),
            (self.contrastive, 0),
            (self.notes, 0),
        ):
            top_layout.addWidget(widget, stretch)
        explanation = QWidget()
        explanation_layout = QVBoxLayout(explanation)
        explanation_layout.setContentsMargins(0, 0, 0, 0)
        explanation_layout.setSpacing(3)
        explanation_layout.addWidget(self.selection)
        explanation_layout.addWidget(self.contributions, 1)
        maps = QSplitter(Qt.Orientation.Horizontal)
        maps.addWidget(self.image_map)
        maps.addWidget(self.audio_map)
        maps_and_words = QSplitter(Qt.Orientation.Vertical)
        maps_and_words.addWidget(maps)
        maps_and_words.addWidget(self.text_map)
        maps_and_words.setStretchFactor(0, 4)
        maps_and_words.setStretchFactor(1, 1)
        self.maps_page = maps_page = QWidget()
        maps_layout = QVBoxLayout(maps_page)
        maps_layout.setContentsMargins(0, 0, 0, 0)
        maps_layout.setSpacing(3)
        maps_layout.addLayout(self._build_map_controls())
        maps_layout.addWidget(maps_and_words, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("answerSplitter")
        for index, (widget, stretch) in enumerate(((top, 2), (explanation, 2), (maps_page, 3))):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(index, stretch)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        for label in (self.heading, self.legend, self.contrastive, self.notes, self.selection):
            # Built as HTML from the model's words: never guessed to be plain text.
            label.setTextFormat(Qt.TextFormat.RichText)
        self.clear()

    def _build_map_controls(self) -> QHBoxLayout:
        row, self.colormap_box, self.opacity_slider = map_controls_row(
            ("answerColormapBox", "answerOpacitySlider"),
            "Colormap of the unsigned maps",
            "Opacity of the maps over the image and the spectrogram",
        )
        self.colormap_box.currentTextChanged.connect(self.colormap_chosen)
        self.opacity_slider.valueChanged.connect(
            lambda value: self.opacity_chosen.emit(value / 100)
        )
        return row

    # Streaming, then the result

    def show_stream(self, pieces: list[str], sample: Sample | None) -> None:
        """The answer so far of the generation running now; explained once it is done."""
        if not self.streaming:
            self.streaming = True
            self.analysis = None
            self.selected = self.shown = None
            self.tokens.set_selected(None)
            self._clear_explanation("The explanation follows once the answer is complete.")
            # Hidden while tokens stream in: a hidden plot never repaints, and every repaint of
            # pyqtgraph's Python painting would take the interpreter from the generation.
            self._show_explanation_panes(False)
            self.contrastive.hide()
            self.notes.hide()
            self._set_heading(sample.text if sample is not None else "")
        self.sample = sample
        self.tokens.set_tokens(pieces)
        # The newest tokens stay in sight while a long answer grows past the view.
        # (Once the scroll area has taken the new height: its layout runs before the timer.)
        QTimer.singleShot(0, self, self._scroll_to_end)
        count = len(pieces)
        self.status.setText(f"Generating… {count} token{'s' * (count != 1)} (Esc stops)")

    def _scroll_to_end(self) -> None:
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _show_explanation_panes(self, on: bool) -> None:
        if on == self.maps_page.isVisibleTo(self):
            return
        if not on:
            # The splitter gives a hidden pane's room away; the user's division comes back.
            self._pane_sizes = self.splitter.sizes()
        self.contributions.setVisible(on)
        self.maps_page.setVisible(on)
        if on and self._pane_sizes:
            self.splitter.setSizes(self._pane_sizes)

    def show_analysis(self, analysis: GenerationAnalysis, sample: Sample, note: str = "") -> None:
        """``note``: what a loaded example says the explanation shows, first among the notes."""
        self.streaming = False
        self._show_explanation_panes(True)
        self.analysis, self.sample = analysis, sample
        self.selected = None
        self.tokens.set_tokens(
            analysis.answer_tokens, analysis.modality_shares(), analysis.modalities
        )
        self.tokens.set_selected(None)
        self.legend.setText(share_legend(analysis.present))
        self._set_heading(analysis.prompt)
        count = analysis.token_count
        why = FINISHED.get(analysis.finished, analysis.finished)
        options = analysis.generation or {}
        decoding = (
            f"sampled (temperature {options.get('temperature')}, top-p {options.get('top_p')}, "
            f"seed {options.get('seed')})"
            if options.get("do_sample")
            else "greedy"
        )
        self.status.setText(
            f"{count} token{'s' * (count != 1)} · {why} · {decoding} · {analysis.model_name}"
        )
        self.status.setToolTip(f"Generation options: {options}")
        self._show_contrastive(analysis)
        notes = [
            *([note] if note else []),
            f"Absent modalities are {analysis.absent_modality}.",
            *analysis.notes,
        ]
        self.notes.setText(" · ".join(_escape(n) for n in notes))
        self.notes.show()
        self._show(None)

    def clear(self) -> None:
        self.analysis = self.sample = None
        self.selected = self.shown = None
        self.streaming = False
        self._show_explanation_panes(True)
        self.tokens.set_tokens([])
        self.status.setText("")
        self.contrastive.hide()
        self.notes.hide()
        self._clear_explanation("")

    # Selection

    def select(self, index: int | None) -> None:
        """Explain token ``index``, or the whole answer (None)."""
        if self.analysis is None:
            return
        if index is not None and not 0 <= index < self.analysis.token_count:
            index = None
        self.selected = index
        self.tokens.set_selected(index)
        self._show(index)

    def step(self, delta: int) -> None:
        if self.analysis is None or not self.analysis.token_count:
            return
        last = self.analysis.token_count - 1
        if self.selected is None:
            index = 0 if delta > 0 else last
        else:
            index = min(max(self.selected + delta, 0), last)
        self.select(index)

    def _on_clicked(self, index: int) -> None:
        # The selected token clicked again, or a click beside the tokens: the whole answer.
        self.select(None if index < 0 or index == self.selected else index)

    def _on_hovered(self, index: int) -> None:
        if self.analysis is None:
            return
        self._show(self.selected if index < 0 else index)

    def _show(self, index: int | None) -> None:
        analysis, sample = self.analysis, self.sample
        if analysis is None or sample is None:
            return
        self.shown = index
        self._show_caption(analysis, index)
        which = explained(analysis, index)
        if which is None:
            self.contributions.clear()
            self.contributions.shapley.caption.setText(
                "Not explained: "
                + (
                    "the generation was stopped."
                    if analysis.finished == "stopped"
                    else "no token was generated."
                    if not analysis.token_count
                    else "explanations are off."
                )
            )
        else:
            self.contributions.show_shapley(which)
            self.contributions.show_interactions(which)
        self._show_maps(analysis, sample, index)
        self.selection_shown.emit(index)

    def _show_caption(self, analysis: GenerationAnalysis, index: int | None) -> None:
        if index is None:
            self.selection.setText(
                f"<b>The whole answer</b> <span style='color:gray'>· {_escape(HINT)}</span>"
            )
            return
        token = analysis.answer_tokens[index]
        self.selection.setText(
            f"<b>Token {index + 1} of {analysis.token_count}: “{_escape(token.strip())}”</b>"
            " <span style='color:gray'>· its log-probability given the answer before it</span>"
        )

    def _show_maps(self, analysis: GenerationAnalysis, sample: Sample, index: int | None) -> None:
        maps = selection_maps(analysis, index)
        methods, signed, present = analysis.map_methods, set(analysis.signed_maps), analysis.present
        image = sample.image if "image" in present else None
        self.image_map.show_map(
            image,
            maps.image,
            methods.get("image", "") if maps.image is not None else "no map for this answer",
            signed="image" in signed,
            box=maps.image_box,
        )
        audio = sample.audio if "audio" in present else None
        if audio is not None and analysis.spectrogram is None:
            self.audio_map.clear()
            self.audio_map.empty.setText("No spectrogram map for this answer")
        else:
            self.audio_map.empty.setText("No audio in this question")
            self.audio_map.show_map(
                audio,
                analysis.spectrogram,
                maps.audio,
                analysis.spectrogram_hop_seconds,
                methods.get("audio", ""),
                signed="audio" in signed,
            )
        if maps.word_weights is None:
            self.text_map.clear()
            if "text" in present:
                self.text_map.browser.setHtml(
                    "<span style='color:gray'>No map over the question's words for this "
                    "answer</span>"
                )
        else:
            self.text_map.show_map(
                maps.words, maps.word_weights, methods.get("text", ""), signed="text" in signed
            )

    # Pieces

    def _set_heading(self, question: str) -> None:
        asked = f" <span style='color:gray'>· to “{_escape(quoted(question))}”</span>"
        self.heading.setText("<b>Answer</b>" + (asked if question else ""))

    def _show_contrastive(self, analysis: GenerationAnalysis) -> None:
        answers = analysis.contrastive_answers
        if not answers:
            self.contrastive.hide()
            return
        lines = [
            f"<b>Without the {_escape(m)}</b>: “{_escape(quoted(a))}”" for m, a in answers.items()
        ]
        self.contrastive.setText(" · ".join(lines))
        self.contrastive.setToolTip("\n".join(f"Without the {m}: {a}" for m, a in answers.items()))
        self.contrastive.show()

    def _clear_explanation(self, reason: str) -> None:
        self.selection.setText(reason)
        self.contributions.clear()
        self.image_map.clear()
        self.audio_map.clear()
        self.text_map.clear()

    # Heatmap settings, as the results panel's controls set them

    def set_colormap(self, name: str) -> None:
        with _quiet(self.colormap_box):
            self.colormap_box.setCurrentText(name)
        for view in (self.image_map, self.audio_map, self.text_map):
            view.set_colormap(name)

    def set_opacity(self, opacity: float) -> None:
        with _quiet(self.opacity_slider):
            self.opacity_slider.setValue(round(opacity * 100))
        for view in (self.image_map, self.audio_map):
            view.set_opacity(opacity)


@contextmanager
def _quiet(widget: QWidget) -> Iterator[None]:
    """Set a control to the setting without announcing it as the user's choice."""
    blocked = widget.blockSignals(True)
    try:
        yield
    finally:
        widget.blockSignals(blocked)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)
