"""Video frames from a QVideoSink, and their conversion to pixels.

Only references are passed around (QVideoFrame is implicitly shared and cheap to copy); pixels
are made when someone needs them: the view when it paints (see video_item.py), the model at
``MODEL_MAX_SIDE`` on the analysis thread. A frame is held only while it is the newest one,
the one waiting for analysis, or the one being analysed, so a camera's buffer pool never runs dry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import QVideoFrame, QVideoSink

# The digits model looks at 64 px; 320 px keeps heatmaps legible while the model's
# preprocessing gets 4x fewer pixels than a VGA frame.
MODEL_MAX_SIDE = 320
# A snapshot is inspected and exported, so it keeps more detail than a live analysis needs.
SNAPSHOT_MAX_SIDE = 1280


@dataclass(frozen=True)
class LiveFrame:
    """One captured frame: ``captured_at`` is time.perf_counter() when the sink delivered it."""

    frame: QVideoFrame
    frame_id: int
    captured_at: float
    media_time_us: int

    @property
    def size(self) -> tuple[int, int]:
        size = self.frame.size()
        return size.width(), size.height()


def frame_to_qimage(frame: QVideoFrame, max_side: int) -> QImage | None:
    """The frame as packed RGB888, no larger than ``max_side`` on its longer side."""
    image = frame.toImage()
    if image.isNull():
        return None
    if max(image.width(), image.height()) > max_side:
        # Smooth: nearest-neighbour shrinking aliases fine strokes, such as a drawn digit's.
        image = image.scaled(
            max_side,
            max_side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return image.convertToFormat(QImage.Format.Format_RGB888)


def qimage_to_array(image: QImage) -> np.ndarray:
    """(H, W, 3) uint8 owning its memory: the QImage may be freed as soon as this returns."""
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height).reshape(
        height, stride
    )
    return rows[:, : width * 3].reshape(height, width, 3).copy()


def frame_to_pil(frame: QVideoFrame, max_side: int = MODEL_MAX_SIDE) -> Image.Image | None:
    image = frame_to_qimage(frame, max_side)
    return None if image is None else Image.fromarray(qimage_to_array(image), "RGB")


class FrameGrabber(QObject):
    """Listens to a QVideoSink and keeps only the newest frame.

    The sink is the one thing a camera's QMediaCaptureSession and a QMediaPlayer both accept,
    so the same code serves a webcam and a video file (which is how the tests drive it).
    """

    frame_arrived = Signal(object)  # LiveFrame

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sink = QVideoSink(self)
        self.sink.videoFrameChanged.connect(self._on_frame)
        self.latest: LiveFrame | None = None
        self.frames_seen = 0

    @Slot(QVideoFrame)
    def _on_frame(self, frame: QVideoFrame) -> None:
        if not frame.isValid():
            return  # sent when a source stops: it ends the stream, it is not a picture
        self.frames_seen += 1
        self.latest = LiveFrame(
            frame, self.frames_seen, time.perf_counter(), int(frame.startTime())
        )
        self.frame_arrived.emit(self.latest)

    def release(self) -> None:
        """Let go of the newest frame, so a stopped camera's buffer can be reused or freed."""
        self.latest = None
