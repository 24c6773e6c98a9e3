"""One live analysis, as a task for the window's analysis service: the newest frame and audio
window made into a Sample and analysed, in the analysis thread.

The service's live lane holds one task at most (the newest frame wins), so however slow the
model, at most one request waits and the next analysis is always of the newest frame. A
generative model's answer (the typed question about the frame and the audio window) is
explained per token as the single-shot path explains it; its session sends the next task only
once the answer is back (``mmstudio.analysis.live.OneAtATime``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from mmstudio.analysis.live import analyze_live
from mmstudio.audio import AudioWindow, GatedWindow
from mmstudio.gui.results.answer_explanation import selection_maps
from mmstudio.inputs import make_sample
from mmstudio.inputs.errors import InputError
from mmstudio.models.generative.options import GenerationOptions
from mmstudio.result import GenerationAnalysis

from .frames import MODEL_MAX_SIDE, LiveFrame, frame_to_pil
from .overlay import heatmap_to_qimage

WHOLE_IMAGE = (0.0, 0.0, 1.0, 1.0)


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
    # The part of the frame the overlay covers (x0, y0, x1, y1, fractions of width and height).
    overlay_box: tuple[float, float, float, float] = WHOLE_IMAGE
    # The request's ticket (LiveSession's pacing of generative models; None for a classifier).
    ticket: int | None = None


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
    # A generative model's decoding options, and the event that stops its answer at the next
    # token (set when live mode stops).
    options: GenerationOptions | None = None
    stop: threading.Event | None = None
    ticket: int | None = None

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
            ticket=self.ticket,
        )
        if not sample.present:
            elapsed = (time.perf_counter() - started) * 1000.0
            return LiveResult(None, worker_ms=elapsed, idle_reason=_idle_reason(window), **common)
        stop = self.stop
        try:
            analysis = analyze_live(
                analyzer, sample, self.options, stop.is_set if stop is not None else None
            )
        except InputError as error:
            elapsed = (time.perf_counter() - started) * 1000.0
            return LiveResult(None, worker_ms=elapsed, idle_reason=str(error), **common)
        heatmap, box = _image_map(analysis)
        overlay = heatmap_to_qimage(heatmap) if heatmap is not None else None
        elapsed = (time.perf_counter() - started) * 1000.0
        return LiveResult(analysis, worker_ms=elapsed, overlay=overlay, overlay_box=box, **common)


def _image_map(analysis) -> tuple[object | None, tuple[float, float, float, float]]:
    """The map to draw over the frame, and the part of the frame it covers: a classifier's
    heatmap, or the whole answer's map over the image as the answer view shows it."""
    if not isinstance(analysis, GenerationAnalysis):
        return analysis.image_heatmap, WHOLE_IMAGE
    if "image" not in analysis.present:
        return None, WHOLE_IMAGE
    maps = selection_maps(analysis, None)
    if maps.image is None:
        return None, WHOLE_IMAGE
    # A signed map (occlusion) shows what made the answer likelier: its positive part.
    return maps.image, maps.image_box


def _idle_reason(window: AudioWindow | None) -> str:
    if window is None:
        return "waiting for a camera frame or typed text"
    return "quiet: waiting for a camera frame, a voice or typed text"
