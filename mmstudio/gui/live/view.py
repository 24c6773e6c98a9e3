"""What live mode shows: the video with the newest heatmap over it, the prediction (or a
generative model's answer, each token with its modality shares under it, as the answer view
draws it), the modalities' contributions, the microphone level and the stream's figures."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont
from PySide6.QtMultimedia import QVideoFrame
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from mmstudio import MODALITIES
from mmstudio.audio import FLOOR_DBFS
from mmstudio.gui.common.theme import (
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    banner_colors,
    style_plot,
    text_color,
)
from mmstudio.gui.results.answer_explanation import FINISHED, quoted
from mmstudio.gui.results.answer_tokens import AnswerTokens, share_legend
from mmstudio.result import GenerationAnalysis

from .overlay import HeatmapItem
from .task import LiveResult
from .video_item import VideoFrameItem

LEVEL_METER_FLOOR_DB = -80
# Frames closer together than this (15 fps or more) repaint the view often enough for the overlay.
FRAMES_FLOWING_S = 1 / 15
IDLE_TEXT = "Press F5 to go live"


class LiveView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame_size: tuple[int, int] | None = None
        self._last_frame_shown = 0.0
        self.last_result: LiveResult | None = None
        self.frames_shown = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.hide()
        layout.addWidget(self.message)
        row = QHBoxLayout()
        row.addWidget(self._build_video(), 3)
        row.addWidget(self._build_side(), 1)
        layout.addLayout(row, 1)

    def _build_video(self) -> QWidget:
        self.video = pg.GraphicsLayoutWidget()
        self.video.setAccessibleName("Live video with heatmap")
        self.viewbox = self.video.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.frame_item = VideoFrameItem()
        self.overlay_item = HeatmapItem()
        self.overlay_item.setZValue(1)  # over the frame, whatever order they were added in
        self.viewbox.addItem(self.frame_item)
        self.viewbox.addItem(self.overlay_item)
        self.placeholder = pg.TextItem(IDLE_TEXT, anchor=(0.5, 0.5), color=text_color(self))
        self.viewbox.addItem(self.placeholder)
        self.viewbox.setRange(QRectF(-1, -1, 2, 2), padding=0)
        style_plot(self.video, self)
        return self.video

    def _build_side(self) -> QWidget:
        side = QWidget()
        column = QVBoxLayout(side)
        self.prediction = QLabel("–")
        font = QFont(self.prediction.font())
        font.setPointSizeF(font.pointSizeF() * 3)
        font.setBold(True)
        self.prediction.setFont(font)
        self.prediction.setAccessibleName("Live prediction")
        # A generative model's answer: the answer view's own token strip, and its legend.
        self.question = QLabel("")
        self.question.setWordWrap(True)
        self.question.setTextFormat(Qt.TextFormat.PlainText)
        self.answer = AnswerTokens()
        self.answer.setAccessibleName("Live answer")
        self.answer_legend = QLabel(share_legend([]))
        self.answer_legend.setWordWrap(True)
        self.answer_legend.setTextFormat(Qt.TextFormat.RichText)
        for widget in (self.question, self.answer, self.answer_legend):
            widget.hide()
        self.probability = QLabel("")
        self.probability.setWordWrap(True)
        self.contributions = pg.PlotWidget()
        self.contributions.setMaximumHeight(150)
        self.contributions.setMouseEnabled(False, False)
        self.contributions.hideButtons()
        self.contributions.getAxis("left").setTicks([[(i, m) for i, m in enumerate(MODALITIES)]])
        self.contributions.getPlotItem().setYRange(-0.6, len(MODALITIES) - 0.4, padding=0)
        self.contributions.getPlotItem().invertY(True)
        self.contributions.addLine(x=0, pen=pg.mkPen("#888"))
        self._brushes = {True: pg.mkBrush(POSITIVE_COLOR), False: pg.mkBrush(NEGATIVE_COLOR)}
        self._reach = 0.0
        self._tick_labels: list = []
        self.bars = pg.BarGraphItem(
            x0=[0, 0, 0], y=list(range(len(MODALITIES))), height=0.6, width=[0, 0, 0]
        )
        self.contributions.addItem(self.bars)
        style_plot(self.contributions, self)
        self.level = QProgressBar()
        self.level.setRange(LEVEL_METER_FLOOR_DB, 0)
        self.level.setAccessibleName("Microphone level")
        self.level.setFormat("Microphone off")
        self.level.setValue(LEVEL_METER_FLOOR_DB)
        self.stats = QLabel("")
        self.stats.setWordWrap(True)
        self.stats.setAccessibleName("Live statistics")
        column.addWidget(self.prediction)
        column.addWidget(self.question)
        column.addWidget(self.answer)
        column.addWidget(self.answer_legend)
        column.addWidget(self.probability)
        column.addWidget(QLabel("Contribution (Shapley, log-probability)"))
        column.addWidget(self.contributions)
        column.addWidget(self.level)
        column.addWidget(self.stats)
        column.addStretch(1)
        return side

    # ---- display-rate updates --------------------------------------------------------------

    def show_frame(self, frame: QVideoFrame) -> None:
        """Draw a video frame; the last heatmap stays over it, stretched to fit."""
        size = frame.size()
        width, height = size.width(), size.height()
        self.frame_item.set_frame(frame)
        self._last_frame_shown = time.perf_counter()
        if self.frame_size != (width, height):
            self.frame_size = (width, height)
            self.placeholder.hide()
            self.overlay_item.set_rect(QRectF(0, 0, width, height))
            self.viewbox.setRange(QRectF(0, 0, width, height), padding=0)
        self.frames_shown += 1

    def show_result(self, result: LiveResult) -> None:
        self.last_result = result
        analysis = result.analysis
        if analysis is None:
            self._show_answering(False)
            self.prediction.setText("–")
            self.probability.setText(result.idle_reason)
            self.overlay_item.clear()
            self._set_bars({})
            return
        if isinstance(analysis, GenerationAnalysis):
            self._show_answer(analysis)
        else:
            self._show_answering(False)
            self.prediction.setText(analysis.predicted_label)
            self.probability.setText(
                f"{100 * analysis.confidence:.0f}% · from {' + '.join(analysis.present)}"
            )
        self._show_overlay(result)

    def _show_answering(self, on: bool) -> None:
        """The answer's widgets in the prediction's place (a generative model), or back."""
        if self.answer.isVisibleTo(self) == on:
            return
        self.prediction.setVisible(not on)
        for widget in (self.question, self.answer, self.answer_legend):
            widget.setVisible(on)

    def _show_answer(self, analysis: GenerationAnalysis) -> None:
        self._show_answering(True)
        self.question.setText(f"Q: {quoted(analysis.prompt)}" if analysis.prompt else "")
        self.answer.set_tokens(
            analysis.answer_tokens, analysis.modality_shares(), analysis.modalities
        )
        self.answer_legend.setText(share_legend(analysis.present))
        count = analysis.token_count
        self.probability.setText(
            f"{count} token{'s' * (count != 1)} · "
            f"{FINISHED.get(analysis.finished, analysis.finished)} · "
            f"from {' + '.join(analysis.present)}"
        )

    def _show_overlay(self, result: LiveResult) -> None:
        if result.overlay is not None and self.frame_size is not None:
            # The heatmap matches the downscaled image the model saw; the rect maps it onto the
            # frame as drawn, whatever its resolution. While frames flow, the next frame's paint
            # shows it (within one frame interval): a paint of its own would double the paints.
            flowing = time.perf_counter() - self._last_frame_shown < FRAMES_FLOWING_S
            width, height = self.frame_size
            x0, y0, x1, y1 = result.overlay_box
            rect = QRectF(x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height)
            self.overlay_item.set_image(result.overlay, rect, repaint=not flowing)
        else:
            self.overlay_item.clear()
        analysis = result.analysis
        shapley = (
            analysis.shapley_of(None)
            if isinstance(analysis, GenerationAnalysis)
            else analysis.shapley
        )
        self._set_bars(shapley)

    def _set_bars(self, shapley: dict[str, float]) -> None:
        values = np.array([shapley.get(m, 0.0) for m in MODALITIES], dtype=float)
        brushes = [self._brushes[v >= 0] for v in values]
        self.bars.setOpts(x0=np.minimum(values, 0.0), width=np.abs(values), brushes=brushes)
        # Axis changes re-lay out the plot: at 30 results/s, only when they are needed.
        reach = max(0.5, float(np.abs(values).max()) * 1.1)
        if not self._reach / 1.5 <= reach <= self._reach:
            self._reach = reach * 1.25
            self.contributions.setXRange(-self._reach, self._reach, padding=0)
        labels = [(i, m if m in shapley else f"{m} (absent)") for i, m in enumerate(MODALITIES)]
        if labels != self._tick_labels:
            self._tick_labels = labels
            self.contributions.getAxis("left").setTicks([labels])

    def show_level(self, level_db: float | None, voiced: bool) -> None:
        if level_db is None:
            self.level.setValue(LEVEL_METER_FLOOR_DB)
            self.level.setFormat("Microphone off")
            return
        shown = max(LEVEL_METER_FLOOR_DB, min(0, int(round(level_db))))
        loudness = "silence" if level_db <= FLOOR_DBFS else f"{level_db:.0f} dBFS"
        text = f"Microphone {loudness} · {'voice' if voiced else 'quiet'}"
        if shown != self.level.value() or text != self.level.format():  # each change repaints
            self.level.setValue(shown)
            self.level.setFormat(text)

    def show_waiting(self, text: str) -> None:
        """A note under the prediction while there is none yet, e.g. while the model loads."""
        self.probability.setText(text)

    def show_stats(self, text: str) -> None:
        self.stats.setText(text)

    def show_message(self, text: str, kind: str = "info") -> None:
        if not text:
            self.message.hide()
            return
        background, foreground, border = banner_colors(kind)
        self.message.setStyleSheet(
            f"background: {background}; color: {foreground}; border: 1px solid {border}; padding: 6px;"
        )
        self.message.setText(text)
        self.message.show()

    def clear(self, placeholder: str = IDLE_TEXT) -> None:
        """Forget the last stream; ``placeholder`` is shown until a frame arrives."""
        self.frame_item.clear()
        self.overlay_item.clear()
        self.frame_size = None
        self.placeholder.setText(placeholder)
        self.placeholder.setPos(0, 0)
        self.placeholder.show()
        self.viewbox.setRange(QRectF(-1, -1, 2, 2), padding=0)
        self._show_answering(False)
        self.answer.set_tokens([])
        self.prediction.setText("–")
        self.probability.setText("")
        self._set_bars({})
        self.show_level(None, False)
