"""The audio input: record from the microphone, open or drop a file, play it back, save it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.common.theme import MODALITY_COLORS, style_plot
from mmstudio.gui.inputs import microphone, mime
from mmstudio.gui.inputs.file_loading import BackgroundLoader
from mmstudio.gui.inputs.level_meter import LevelMeter
from mmstudio.gui.inputs.playback import Player
from mmstudio.inputs import AudioClip, InputError, audio_from_array, load_audio, save_wav

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.oga *.opus *.mp3 *.aiff *.aif);;All files (*)"
LIVE_FPS = 30
# Points across the live view; each point is the min and max of the samples it covers.
LIVE_POINTS = 600
LIVE_SECONDS = 3.0
CLIP_POINTS = 1200


def envelope_into(samples: np.ndarray, points: int, out: np.ndarray) -> None:
    """Interleaved max/min per bucket into ``out`` (length 2 * points): a filled-looking waveform."""
    per = max(1, len(samples) // points)
    buckets = samples[: per * points].reshape(points, per) if len(samples) >= points else None
    if buckets is None:
        out[0::2] = np.interp(
            np.linspace(0, len(samples) - 1, points), np.arange(len(samples)), samples
        )
        out[1::2] = out[0::2]
        return
    np.max(buckets, axis=1, out=out[0::2])
    np.min(buckets, axis=1, out=out[1::2])


def clip_envelope(
    samples: np.ndarray, rate: int, points: int = CLIP_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    points = max(1, min(points, len(samples)))
    y = np.empty(2 * points, dtype=np.float32)
    envelope_into(samples, points, y)
    x = np.repeat(np.linspace(0.0, len(samples) / rate, points, dtype=np.float32), 2)
    return x, y


class AudioInput(QWidget):
    """Emits ``clip_changed`` with an AudioClip (or None when cleared).

    Files are decoded in the background (``loading_changed`` tells when); the newest load wins.
    A recording stays the audio input until it is cleared or replaced.
    """

    clip_changed = Signal(object)
    error_occurred = Signal(str)
    recording_changed = Signal(bool)
    loading_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, defer_plot: bool = False) -> None:
        """``defer_plot``: the waveform plot (and pyqtgraph) is created by ``build_plot`` later."""
        super().__init__(parent)
        self.clip: AudioClip | None = None
        self.source_name = ""
        self.last_folder = ""
        self.loader = BackgroundLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self.error_occurred)
        self.loader.busy_changed.connect(self.loading_changed)
        self.recorder = microphone.Recorder()
        self.microphone_problem: str | None = "Looking for a microphone…"
        self.player = Player(self)
        self.player.finished.connect(self._on_playback_finished)
        self.player.error_occurred.connect(self.error_occurred)
        self.setAcceptDrops(True)
        self._build_buttons()
        self.meter = LevelMeter()
        self.meter.hide()  # shown while recording: an idle meter reads as an empty progress bar
        self.plot = None
        self.curve = None
        self._plot_holder = QWidget()
        self._plot_holder.setFixedHeight(84)
        QVBoxLayout(self._plot_holder).setContentsMargins(0, 0, 0, 0)
        # Preallocated: the live view only refills these arrays and calls setData.
        self._live_x = np.repeat(np.linspace(-LIVE_SECONDS, 0.0, LIVE_POINTS, dtype=np.float32), 2)
        self._live_y = np.zeros(2 * LIVE_POINTS, dtype=np.float32)
        self._live_samples = np.zeros(0, dtype=np.float32)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: palette(placeholder-text);")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for row in self._rows:
            layout.addLayout(row)
        layout.addWidget(self.meter)
        layout.addWidget(self._plot_holder)
        layout.addWidget(self.status)
        self._live_timer = QTimer(self)
        self._live_timer.setInterval(1000 // LIVE_FPS)
        self._live_timer.timeout.connect(self._on_live_tick)
        self._update_buttons()
        self._update_status()
        if not defer_plot:
            self.build_plot()

    def _build_buttons(self) -> None:
        self.record_button = QPushButton("● Record")
        self.record_button.setObjectName("recordButton")
        self.record_button.clicked.connect(self.toggle_recording)
        self.play_button = QPushButton("▶ Play")
        self.play_button.clicked.connect(self.toggle_playback)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open an audio file (Ctrl+Shift+O)")
        self.open_button.clicked.connect(self.open_dialog)
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save the audio as a WAV file")
        self.save_button.clicked.connect(self.save_dialog)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.refresh_button = QToolButton()
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip("Look for microphones again")
        self.refresh_button.clicked.connect(lambda: self.refresh_microphones(refresh=True))
        # Two short rows keep the input column narrow enough for a 1024-pixel-wide window.
        capture = QHBoxLayout()
        capture.setSpacing(4)
        for button in (self.record_button, self.play_button, self.refresh_button):
            capture.addWidget(button)
        capture.addStretch(1)
        files = QHBoxLayout()
        files.setSpacing(4)
        for button in (self.open_button, self.save_button, self.clear_button):
            files.addWidget(button)
        files.addStretch(1)
        self._rows = (capture, files)

    def build_plot(self) -> None:
        if self.plot is not None:
            return
        from mmstudio.gui.common.plotting import pg

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("audioInputWaveform")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setAcceptDrops(False)  # drops go to this widget, not into the plot's scene
        item = self.plot.getPlotItem()
        item.hideAxis("left")
        item.setLabel("bottom", "time", units="s")
        item.setYRange(-1.0, 1.0, padding=0.05)
        style_plot(self.plot, self)
        self.curve = self.plot.plot(pen=pg.mkPen(MODALITY_COLORS["audio"], width=1))
        self._plot_holder.layout().addWidget(self.plot)
        self._show_clip()

    # Microphone

    def refresh_microphones(self, refresh: bool = False) -> None:
        if self.recorder.recording:
            return  # re-initialising PortAudio would cut the running take
        self.microphone_problem = microphone.probe(refresh)
        self._update_buttons()
        self._update_status()

    def toggle_recording(self) -> None:
        if self.recorder.recording:
            self.stop_recording()
        else:
            self.start_recording()

    def start_recording(self) -> bool:
        if self.microphone_problem:
            self.error_occurred.emit(f"cannot record: {self.microphone_problem}")
            return False
        self.player.stop()
        self.loader.cancel()  # the take replaces a file still being decoded
        try:
            self.recorder.start()
        except microphone.MicrophoneError as error:
            self.error_occurred.emit(f"cannot record: {error}")
            return False
        samples = int(LIVE_SECONDS * self.recorder.sample_rate)
        if len(self._live_samples) != samples:
            self._live_samples = np.zeros(samples, dtype=np.float32)
        self._live_samples[:] = 0.0
        self.build_plot()
        self.plot.getPlotItem().setXRange(-LIVE_SECONDS, 0.0, padding=0)
        self.meter.show()
        self._live_timer.start()
        self._update_buttons()
        self._update_status()
        self.recording_changed.emit(True)
        return True

    def stop_recording(self) -> AudioClip | None:
        if not self.recorder.recording:
            return None
        self._live_timer.stop()
        samples, rate = self.recorder.stop()
        self.meter.reset()
        self.meter.hide()
        self.recording_changed.emit(False)
        try:
            clip = audio_from_array(samples, rate, source="recording")
        except InputError as error:
            self.error_occurred.emit(str(error))
            self._show_clip()
            self._update_buttons()
            self._update_status()
            return None
        self.set_clip(clip, f"recording {clip.duration:.1f} s")
        return clip

    def _on_live_tick(self) -> None:
        problem = self.recorder.problem()
        if problem or self.recorder.seconds >= microphone.MAX_SECONDS:
            self.stop_recording()
            if problem:
                self.error_occurred.emit(f"the recording stopped: {problem}")
            return
        self.meter.set_level(self.recorder.level())
        recent = self.recorder.recent(len(self._live_samples))
        self._live_samples[: len(self._live_samples) - len(recent)] = 0.0
        if len(recent):
            self._live_samples[-len(recent) :] = recent
        envelope_into(self._live_samples, LIVE_POINTS, self._live_y)
        self.curve.setData(self._live_x, self._live_y)
        self._update_status()

    # Files

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Audio", self.last_folder, AUDIO_FILTER)
        if path:
            self.load_path(path)

    def load_path(self, path: str | Path) -> None:
        """Decode ``path`` in the background; ``clip_changed`` or ``error_occurred`` follows."""
        path = Path(path)
        self.last_folder = str(path.parent)
        self.loader.start(lambda: (load_audio(path), path.name), path.name)

    @property
    def loading(self) -> bool:
        return self.loader.busy

    def _on_loaded(self, loaded: tuple) -> None:
        clip, name = loaded
        self.set_clip(clip, name)

    def save_dialog(self) -> None:
        if self.clip is None:
            return
        stem = (
            Path(self.source_name).stem
            if self.source_name and not self.source_name.startswith("recording")
            else "recording"
        )
        start = str(Path(self.last_folder or Path.home()) / f"{stem}.wav")
        path, _ = QFileDialog.getSaveFileName(self, "Save Recording", start, "WAV audio (*.wav)")
        if path:
            self.save(path)

    def save(self, path: str | Path) -> bool:
        if self.clip is None:
            return False
        path = Path(path)
        if path.suffix.lower() != ".wav":
            path = path.with_suffix(".wav")
        try:
            save_wav(self.clip, path)
        except InputError as error:
            self.error_occurred.emit(str(error))
            return False
        self.last_folder = str(path.parent)
        return True

    def dragEnterEvent(self, event) -> None:
        if mime.can_accept(event.mimeData(), "audio"):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        event.acceptProposedAction()
        try:
            payload = mime.audio_payload(event.mimeData())
        except InputError as error:
            self.error_occurred.emit(str(error))
            return
        if payload is None:
            self.error_occurred.emit("only audio files can be dropped here")
            return
        self.load_path(payload.path)

    # The clip

    def set_clip(self, clip: AudioClip, name: str = "") -> None:
        self.loader.cancel()
        self.player.stop()
        self.clip = clip
        self.source_name = name
        self._show_clip()
        self._update_buttons()
        self._update_status()
        self.clip_changed.emit(clip)

    def clear(self) -> None:
        self.loader.cancel()
        if self.recorder.recording:
            self._live_timer.stop()
            self.recorder.stop()
            self.meter.reset()
            self.meter.hide()
            self.recording_changed.emit(False)
        self.player.stop()
        had_clip = self.clip is not None
        self.clip = None
        self.source_name = ""
        self._show_clip()
        self._update_buttons()
        self._update_status()
        if had_clip:
            self.clip_changed.emit(None)

    def toggle_playback(self) -> None:
        if self.player.playing:
            self.player.stop()
        elif self.clip is not None:
            self.player.play(self.clip)
        self._update_buttons()

    def _on_playback_finished(self) -> None:
        self._update_buttons()

    def _show_clip(self) -> None:
        if self.plot is None:
            return  # build_plot draws the clip
        if self.clip is None:
            self.curve.setData([], [])
            self.plot.getPlotItem().setXRange(0.0, 1.0, padding=0)
            return
        x, y = clip_envelope(self.clip.samples, self.clip.sample_rate)
        self.curve.setData(x, y)
        self.plot.getPlotItem().setXRange(0.0, max(self.clip.duration, 1e-3), padding=0)

    def _update_buttons(self) -> None:
        recording = self.recorder.recording
        self.record_button.setText("■ Stop" if recording else "● Record")
        self.record_button.setEnabled(recording or self.microphone_problem is None)
        self.record_button.setToolTip(
            "Stop recording (Ctrl+R)"
            if recording
            else self.microphone_problem or "Record from the microphone (Ctrl+R)"
        )
        has_clip = self.clip is not None
        self.play_button.setText("■ Stop" if self.player.playing else "▶ Play")
        self.play_button.setEnabled(has_clip and not recording)
        self.save_button.setEnabled(has_clip and not recording)
        self.clear_button.setEnabled(has_clip or recording)
        self.open_button.setEnabled(not recording)
        self.refresh_button.setEnabled(not recording)

    def _update_status(self) -> None:
        if self.recorder.recording:
            self.status.setText(f"Recording… {self.recorder.seconds:.1f} s")
        elif self.microphone_problem:
            self.status.setText(self.microphone_problem)
        elif self.clip is not None:
            self.status.setText(
                f"{self.source_name} · {self.clip.duration:.2f} s at {self.clip.sample_rate // 1000} kHz"
            )
        else:
            self.status.setText("Record, open or drop an audio file")

    def summary(self) -> str:
        if self.recorder.recording:
            return "recording…"
        if self.clip is None:
            return "no audio"
        return f"{self.clip.duration:.1f} s"

    def shutdown(self) -> None:
        """Release the microphone and the player (the window is closing)."""
        self._live_timer.stop()
        if self.recorder.recording:
            self.recorder.stop()
        self.player.close()
