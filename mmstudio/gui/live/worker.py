"""The live analysis thread: takes the newest request, makes a Sample, runs the model.

It owns its own Analyzer so a live stream never waits behind (or delays) the studio's
one-off analyses. Requests come through a :class:`LatestSlot`, never through Qt's event
queue, so at most one request waits however slow the model is; a queued ``wake`` only says
"look at the slot", and one is posted only when the slot goes from empty to full.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from mmstudio.audio import AudioWindow, GatedWindow
from mmstudio.inputs import make_sample
from mmstudio.inputs.errors import InputError

from .frames import MODEL_MAX_SIDE, LiveFrame, frame_to_pil
from .latest import LatestSlot
from .overlay import heatmap_to_qimage


@dataclass(frozen=True)
class LiveRequest:
    frame: LiveFrame | None
    text: str | None
    # When the request was made: the "capture" time of an analysis without a camera frame.
    requested_at: float

    @property
    def captured_at(self) -> float:
        return self.frame.captured_at if self.frame is not None else self.requested_at


@dataclass(frozen=True)
class LiveResult:
    """One finished live analysis. ``analysis`` is None when there was nothing to analyse
    (no frame yet, a quiet room and no text); ``idle_reason`` then says so."""

    analysis: object | None
    frame_id: int | None
    media_time_us: int | None
    captured_at: float
    image_size: tuple[int, int] | None
    audio: AudioWindow | None
    worker_ms: float
    idle_reason: str = ""
    # The image heatmap, coloured and ready to draw over the frame (QImage), or None.
    overlay: object | None = None


class LiveWorker(QObject):
    result = Signal(object)  # LiveResult
    failed = Signal(str)  # one analysis failed; the stream goes on
    model_failed = Signal(str)
    model_ready = Signal(str)

    def __init__(self, slot: LatestSlot[LiveRequest]) -> None:
        super().__init__()
        self.slot = slot
        # Set by the GUI thread between runs; read here. Plain attribute writes are atomic.
        self.audio: GatedWindow | None = None
        self.image_max_side = MODEL_MAX_SIDE
        self.stopping = False
        # Test-only: seconds to sleep before each analysis, to show that slowness drops frames
        # instead of queueing them.
        self.delay_s = 0.0
        # Written only here; the GUI thread counts the wakes it posts, so the difference is
        # how many wait in Qt's queue (never more than one; the tests check it).
        self.wakes_handled = 0
        self.analyses_run = 0
        self.discarded = 0  # requests taken while no model was ready: frames dropped, too
        self._analyzer = None
        self._model_spec: str | None = None

    @Slot(object, object)
    def load_model(self, spec, device) -> None:
        key = f"{spec}|{device}"
        if self._analyzer is not None and key == self._model_spec:
            self.model_ready.emit(self._analyzer.model_name)
            return
        try:
            self._limit_threads()
            from mmstudio.analysis import Analyzer
            from mmstudio.models.device import pick_device
            from mmstudio.models.registry import get_model

            target = pick_device(device)
            self._analyzer = Analyzer(get_model(spec, target), target)
        except Exception as error:  # a broken model must not take the window down
            self._analyzer = None
            self.model_failed.emit(f"the live model could not be loaded: {error}")
            return
        self._model_spec = key
        self.model_ready.emit(self._analyzer.model_name)

    @staticmethod
    def _limit_threads() -> None:
        import torch

        # Intra-op threads on every core of a small CPU would starve the GUI thread, which
        # must keep drawing frames at 30 fps; the studio's own worker makes the same choice.
        cores = os.cpu_count() or 1
        if "OMP_NUM_THREADS" not in os.environ and cores <= 4:
            torch.set_num_threads(max(1, cores - 1))

    @Slot()
    def wake(self) -> None:
        self.wakes_handled += 1
        request = self.slot.take()
        if request is None or self.stopping:
            return
        if self._analyzer is None:
            self.discarded += 1  # the model failed to load, which was already reported
            return
        started = time.perf_counter()
        if self.delay_s:
            time.sleep(self.delay_s)
        try:
            result = self._run(request, started)
        except Exception as error:  # one bad frame or window must not end the stream
            self.failed.emit(f"a live analysis failed: {error}")
            return
        self.analyses_run += 1
        self.result.emit(result)

    def _run(self, request: LiveRequest, started: float) -> LiveResult:
        frame = request.frame
        image = frame_to_pil(frame.frame, self.image_max_side) if frame is not None else None
        window = self.audio.take() if self.audio is not None else None
        sample = make_sample(
            image=image, text=request.text or None, audio=window.clip() if window else None
        )
        common = dict(
            frame_id=frame.frame_id if frame else None,
            media_time_us=frame.media_time_us if frame else None,
            captured_at=request.captured_at,
            image_size=image.size if image is not None else None,
            audio=window,
        )
        if not sample.present:
            elapsed = (time.perf_counter() - started) * 1000.0
            return LiveResult(None, worker_ms=elapsed, idle_reason=_idle_reason(window), **common)
        try:
            analysis = self._analyzer.analyze(sample)
        except InputError as error:
            elapsed = (time.perf_counter() - started) * 1000.0
            return LiveResult(None, worker_ms=elapsed, idle_reason=str(error), **common)
        heatmap = analysis.image_heatmap
        overlay = heatmap_to_qimage(heatmap) if heatmap is not None else None
        elapsed = (time.perf_counter() - started) * 1000.0
        return LiveResult(analysis, worker_ms=elapsed, overlay=overlay, **common)


def _idle_reason(window: AudioWindow | None) -> str:
    if window is None:
        return "waiting for a camera frame or typed text"
    return "quiet: waiting for a camera frame, a voice or typed text"
