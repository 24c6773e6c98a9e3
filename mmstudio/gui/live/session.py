"""Live mode's controller: camera and microphone in, live tasks to the window's analysis
service, results out to the view.

The GUI thread does only cheap things per frame: keep a reference, draw it, and overwrite the
pending task. Pixels for the model, the audio window and the model itself are the analysis
thread's. Live mode runs on the window's own service, so it uses the model the window has
loaded: one copy in memory, one thread.

A generative model answers the typed question about the newest frame and audio window, one
answer at a time: a frame or tick that comes while an answer is being generated and explained
is skipped (:class:`~mmstudio.analysis.live.OneAtATime`), and stopping live mode stops the
answer at its next token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtMultimedia import QCameraDevice

from mmstudio.analysis.live import OneAtATime
from mmstudio.audio import (
    DEFAULT_WINDOW_SECONDS,
    GatedWindow,
    LevelGate,
    MicrophoneError,
    MicrophoneStream,
)
from mmstudio.audio.level import peak_frame_dbfs
from mmstudio.gui.service import AnalysisService
from mmstudio.inputs import InputError, make_sample
from mmstudio.inputs.sample import Sample

from .camera import CameraFeed, default_camera
from .frames import MODEL_MAX_SIDE, SNAPSHOT_MAX_SIDE, FrameGrabber, LiveFrame, frame_to_pil
from .gui_thread_gc import GuiThreadCollection
from .permissions import request_permissions
from .prediction_log import PredictionLog
from .stats import LiveStats, describe
from .task import LiveRequest, LiveResult
from .view import LiveView

DEFAULT = "default"
# Without a camera nothing paces the stream, so a timer does: fast enough to follow speech.
FRAMELESS_INTERVAL_MS = 100
# A camera frame older than this no longer counts as "the camera is delivering".
FRAME_STALE_S = 0.5
STATUS_INTERVAL_MS = 100

ModelSpec = str | Path | Callable[[], str | Path]
OptionsGetter = Callable[[], object]


class LiveSession(QObject):
    """Signals:
    snapshot(Sample): the frozen frame, audio window and text, for the analysis view.
    message(text, kind): what is missing or went wrong ("info" or "error"); "" clears.
    running_changed(bool)
    result_shown(LiveResult, latency_ms): after a result was drawn.
    model_ready(name): the service has a model and live results can come.
    """

    snapshot = Signal(object)
    message = Signal(str, str)
    running_changed = Signal(bool)
    result_shown = Signal(object, float)
    model_ready = Signal(str)

    def __init__(
        self,
        view: LiveView,
        text_getter: Callable[[], str | None],
        service: AnalysisService,
        model_spec: ModelSpec | None = None,
        device: str | None | Callable[[], str | None] = None,
        parent: QObject | None = None,
        generation_options: OptionsGetter | None = None,
    ) -> None:
        """Live tasks run on ``service``, with whatever model it has loaded. ``model_spec``
        (and ``device``), when given, is loaded into the service at each start unless it is
        loaded already; they may be callables, read at each start. ``generation_options()``
        gives a generative model's decoding options, read at each answer (the model's
        defaults when None)."""
        super().__init__(parent)
        self.view = view
        self.text_getter = text_getter
        self.service = service
        self.model_spec = model_spec
        self.device = device
        self.generation_options = generation_options
        # A generative model's answers: one out at a time, ticks meanwhile skipped.
        self.pacing = OneAtATime()
        # Set when live mode stops: the answer being generated ends at its next token. A new
        # one for every start, so a late stop never reaches the next run's answers.
        self._stop = threading.Event()
        self.audio_window: GatedWindow | None = None
        self.image_max_side = MODEL_MAX_SIDE
        # QCameraDevice, DEFAULT, or None for "no camera"; likewise a PortAudio device for the mic.
        self.camera_choice: QCameraDevice | str | None = DEFAULT
        self.microphone_choice: int | str | None = DEFAULT
        self.window_seconds = DEFAULT_WINDOW_SECONDS
        self.gate = LevelGate()
        self.log = PredictionLog()
        self.stats = LiveStats()
        self.microphone: MicrophoneStream | None = None
        self.grabber = FrameGrabber(self)
        self.grabber.frame_arrived.connect(self._on_frame)
        self.camera = CameraFeed(self.grabber, self)
        self.camera.failed.connect(self._on_camera_failed)
        self._load_id: int | None = None
        self._discarded_at_start = 0
        self._collection = GuiThreadCollection()
        self._running = False
        self._starting = False
        self._problems: dict[str, str] = {}
        self._frames_at_start = 0
        self._frames_skipped = 0  # frames not sent while a generative model's answer was out
        self._last_frame_at = 0.0
        self.max_pending = 0
        self._frameless = QTimer(self)
        self._frameless.setInterval(FRAMELESS_INTERVAL_MS)
        self._frameless.timeout.connect(self._on_frameless_tick)
        self._status = QTimer(self)
        self._status.setInterval(STATUS_INTERVAL_MS)
        self._status.timeout.connect(self._on_status_tick)
        service.live_result.connect(self._on_result)
        service.live_failed.connect(self._on_analysis_failed)
        service.model_loaded.connect(self._on_model_loaded)
        service.model_unavailable.connect(self._on_model_unavailable)
        service.error.connect(self._on_service_error)

    # ---- starting and stopping -------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def set_running(self, on: bool) -> None:
        if on:
            self.start()
        else:
            self.stop()

    def start(self) -> None:
        if self._running or self._starting:
            return
        self._starting = True
        request_permissions(
            self,
            self.camera_choice is not None,
            self.microphone_choice is not None,
            self._start_streams,
        )

    def _start_streams(self, camera_allowed: bool, microphone_allowed: bool) -> None:
        self._starting = False
        self._stop = threading.Event()
        self.pacing.reset()
        self._collection.start()
        self._problems.clear()
        self._start_camera(camera_allowed)
        self._start_microphone(microphone_allowed)
        self._reset_counts()
        self.view.clear(
            "Waiting for the camera…" if self.camera.camera is not None else "No camera"
        )
        self.view.show_waiting("Loading the model…")
        self._running = True
        self._frameless.start()
        self._status.start()
        self._report()
        self.running_changed.emit(True)
        self._ensure_model()

    def _ensure_model(self) -> None:
        spec = self.model_spec() if callable(self.model_spec) else self.model_spec
        loaded = self.service.model_info
        if spec is not None and (loaded is None or loaded.source != str(spec)):
            device = self.device() if callable(self.device) else self.device
            self._load_id = self.service.load_model(str(spec), device)
        elif loaded is not None:
            self._on_model_ready(loaded.name)
        # Otherwise the window's own model is still loading: model_loaded will come.

    def _reset_counts(self) -> None:
        self.service.clear_live()
        self.service.lanes.live.reset_counts()
        self._discarded_at_start = self.service.live_discarded
        self.stats.reset()
        self._frames_at_start = self.grabber.frames_seen
        self._frames_skipped = 0
        answer_out = self.pacing.busy
        self.pacing.reset()
        if answer_out:
            # The answer out stays out: its ticket is forgotten, so its result is taken as stale.
            self._stop.set()
            self._stop = threading.Event()

    def _on_model_ready(self, name: str) -> None:
        # Frames dropped while torch and the model loaded say nothing about the stream.
        if self._running:
            self._reset_counts()
            self.view.show_waiting("")
            self.model_ready.emit(name)

    @Slot(int, object)
    def _on_model_loaded(self, _request_id: int, info) -> None:
        self._on_model_ready(info.name)

    @Slot(int, object)
    def _on_model_unavailable(self, request_id: int, entry) -> None:
        if request_id == self._load_id:
            self._on_model_failed(f"the live model could not be loaded: {entry.problem}")

    @Slot(int, str)
    def _on_service_error(self, request_id: int, message: str) -> None:
        if request_id == self._load_id:
            self._on_model_failed(f"the live model could not be loaded: {message}")

    def _start_camera(self, allowed: bool) -> None:
        if self.camera_choice is None:
            return
        if not allowed:
            self._problems["camera"] = (
                "camera access was denied (allow it in the system's privacy settings)"
            )
            return
        device = default_camera() if self.camera_choice == DEFAULT else self.camera_choice
        problem = self.camera.start(device)
        if problem:
            self._problems["camera"] = problem

    def _start_microphone(self, allowed: bool) -> None:
        self.audio_window = None
        if self.microphone_choice is None:
            return
        if not allowed:
            self._problems["microphone"] = (
                "microphone access was denied (allow it in the system's privacy settings)"
            )
            return
        device = None if self.microphone_choice == DEFAULT else self.microphone_choice
        microphone = MicrophoneStream(device)
        try:
            microphone.start()
        except MicrophoneError as error:
            self._problems["microphone"] = str(error)
            return
        self.microphone = microphone
        self.gate.reset()
        self.audio_window = GatedWindow(microphone, self.window_seconds, self.gate)

    def stop(self) -> None:
        self._starting = False
        if not self._running:
            return
        self._running = False
        self._stop.set()  # an answer being generated ends at its next token
        self.pacing.reset()
        self._frameless.stop()
        self._status.stop()
        self.camera.stop()
        self._stop_microphone()
        self.service.clear_live()
        self.grabber.release()
        self.view.clear()
        self._collection.stop()
        self.running_changed.emit(False)

    def _stop_microphone(self) -> None:
        self.audio_window = None
        microphone, self.microphone = self.microphone, None
        if microphone is not None:
            microphone.stop()

    def shutdown(self) -> None:
        """Stop streaming; call before the window closes (the service is the window's)."""
        self.stop()

    # ---- per frame ---------------------------------------------------------------------------

    @Slot(object)
    def _on_frame(self, frame: LiveFrame) -> None:
        if not self._running:
            return
        self._last_frame_at = frame.captured_at
        self.view.show_frame(frame.frame)
        request = self._request(frame)
        if request is None:
            self._frames_skipped += 1
        self._submit(request)

    @Slot()
    def _on_frameless_tick(self) -> None:
        if time.perf_counter() - self._last_frame_at > FRAME_STALE_S:
            self._submit(self._request(None))

    def _request(self, frame: LiveFrame | None) -> LiveRequest | None:
        """The next live task, or None when this tick is skipped: a generative model's answer
        is still out."""
        options, ticket = None, None
        if self.generates:
            ticket = self.pacing.begin()
            if ticket is None:
                return None
            options = self.generation_options() if self.generation_options else None
        return LiveRequest(
            frame,
            self._text(),
            time.perf_counter(),
            self.audio_window,
            self.image_max_side,
            options=options,
            stop=self._stop,
            ticket=ticket,
        )

    @property
    def generates(self) -> bool:
        """Whether the loaded model answers in words (its answers are paced one at a time)."""
        info = self.service.model_info
        return info is not None and info.generates

    @property
    def ticks_skipped(self) -> int:
        """Frames and ticks not sent since the start because an answer was still out."""
        return self.pacing.skipped

    def _submit(self, request: LiveRequest | None) -> None:
        if request is None:
            return
        self.service.submit_live(request)
        self.max_pending = max(self.max_pending, len(self.service.lanes.live))

    def _text(self) -> str | None:
        try:
            return self.text_getter()
        except RuntimeError:  # the text box was deleted while the window closes
            return None

    # ---- results -----------------------------------------------------------------------------

    @Slot(object)
    def _on_result(self, result: LiveResult) -> None:
        if not self._running:
            return
        if result.ticket is not None and not self.pacing.end(result.ticket):
            return  # an answer begun before live mode last stopped or restarted
        self.view.show_result(result)
        now = time.perf_counter()
        latency_ms = (now - result.captured_at) * 1000.0
        if result.analysis is not None:
            self.stats.record(now, latency_ms)
            self.log.add(result.analysis, result.frame_id, latency_ms)
            if self._problems.pop("analysis", None):
                self._report()
        self.result_shown.emit(result, latency_ms)

    @property
    def frames_captured(self) -> int:
        return self.grabber.frames_seen - self._frames_at_start

    @property
    def frames_dropped(self) -> int:
        """Frames never analysed: replaced in the live lane, taken while no model was loaded,
        or skipped while a generative model's answer was out."""
        return (
            self.service.lanes.live.replaced
            + (self.service.live_discarded - self._discarded_at_start)
            + self._frames_skipped
        )

    @Slot()
    def _on_status_tick(self) -> None:
        now = time.perf_counter()
        unit, dropped_as = ("answers", "skipped") if self.generates else ("analyses", "dropped")
        self.view.show_stats(
            describe(self.stats, now, self.frames_captured, self.frames_dropped, unit, dropped_as)
        )
        microphone = self.microphone
        if microphone is None:
            return
        problem = microphone.problem()
        if problem:
            self._problems["microphone"] = problem
            self._stop_microphone()
            self.view.show_level(None, False)
            self._report()
            return
        rate = microphone.sample_rate
        self.view.show_level(
            peak_frame_dbfs(microphone.latest(rate // 10), rate), self.gate.is_open
        )

    # ---- problems ----------------------------------------------------------------------------

    @Slot(str)
    def _on_camera_failed(self, text: str) -> None:
        self._problems["camera"] = text
        self.grabber.release()
        self.view.clear("The camera stopped")  # a frozen last frame would look live
        self._report()

    @Slot(str)
    def _on_analysis_failed(self, text: str) -> None:
        self.pacing.release()  # the failed answer will not report: the next tick may go
        self._problems["analysis"] = text
        self._report()

    @Slot(str)
    def _on_model_failed(self, text: str) -> None:
        self._problems["model"] = text
        self._report()
        self.stop()

    def _report(self) -> None:
        if not self._problems:
            self.view.show_message("")
            self.message.emit("", "info")
            return
        lines = [f"Live: {text}." for text in self._problems.values()]
        if "model" not in self._problems:
            lines.append(f"Live mode goes on with {self._inputs_in_use()}.")
        text = " ".join(lines)
        kind = "error" if "model" in self._problems else "info"
        self.view.show_message(text, kind)
        self.message.emit(text, kind)

    def _inputs_in_use(self) -> str:
        names = []
        if self.camera.active or (
            self.camera_choice is not None and "camera" not in self._problems
        ):
            names.append("the camera")
        if self.microphone is not None:
            names.append("the microphone")
        names.append("the typed text")  # always there, even when the box is empty for now
        return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]

    # ---- snapshot ----------------------------------------------------------------------------

    def take_snapshot(self) -> Sample | None:
        """Freeze the newest frame, audio window and text into a Sample, emit it and stop."""
        frame = self.grabber.latest
        image = frame_to_pil(frame.frame, SNAPSHOT_MAX_SIDE) if frame is not None else None
        audio = None
        if self.microphone is not None:
            audio = GatedWindow(self.microphone, self.window_seconds, self.gate).peek().clip()
        try:
            sample = make_sample(image=image, text=self._text() or None, audio=audio)
        except InputError as error:
            self.view.show_message(f"Snapshot: {error}", "error")
            return None
        if not sample.present:
            self.view.show_message(
                "Snapshot: there is nothing to keep yet (no frame, voice or text).", "info"
            )
            return None
        self.stop()
        self.snapshot.emit(sample)
        return sample
