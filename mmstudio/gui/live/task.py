"""One live analysis, as a task for the window's analysis service: the newest frame and audio
window made into a Sample and analysed, in the analysis thread.

The service's live lane holds one task at most (the newest frame wins), so however slow the
model, at most one request waits and the next analysis is always of the newest frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mmstudio.audio import AudioWindow, GatedWindow
from mmstudio.inputs import make_sample
from mmstudio.inputs.errors import InputError

from .frames import MODEL_MAX_SIDE, LiveFrame, frame_to_pil
from .overlay import heatmap_to_qimage


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


@dataclass(frozen=True)
class LiveRequest:
    """One live analysis to run: the newest frame (or none), the typed text, and where the
    audio window comes from. :meth:`run` is called in the analysis thread."""

    frame: LiveFrame | None
    text: str | None
    # When the request was made: the "capture" time of an analysis without a camera frame.
    requested_at: float
    audio: GatedWindow | None = None
    image_max_side: int = MODEL_MAX_SIDE

    @property
    def captured_at(self) -> float:
        return self.frame.captured_at if self.frame is not None else self.requested_at

    def run(self, analyzer) -> LiveResult:
        """Pixels for the model, the audio window and the analysis: the worker's part."""
        started = time.perf_counter()
        frame = self.frame
        image = frame_to_pil(frame.frame, self.image_max_side) if frame is not None else None
        window = self.audio.take() if self.audio is not None else None
        sample = make_sample(
            image=image, text=self.text or None, audio=window.clip() if window else None
        )
        common = dict(
            frame_id=frame.frame_id if frame else None,
            media_time_us=frame.media_time_us if frame else None,
            captured_at=self.captured_at,
            image_size=image.size if image is not None else None,
            audio=window,
        )
        if not sample.present:
            elapsed = (time.perf_counter() - started) * 1000.0
            return LiveResult(None, worker_ms=elapsed, idle_reason=_idle_reason(window), **common)
        try:
            analysis = analyzer.analyze(sample)
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
