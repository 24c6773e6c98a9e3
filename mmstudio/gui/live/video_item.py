"""A graphics item that draws a QVideoFrame as it is, converting it only when it is painted.

pyqtgraph's ImageItem wants a numpy array, which for a 640x480 camera frame costs a colour
conversion, a repack to RGB888 and a copy on the GUI thread for every frame, painted or not.
Here the frame is converted by Qt at paint time, straight into the RGB32 layout the window's
backing store blits fastest, and a frame replaced before the next paint costs nothing.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtMultimedia import QVideoFrame


class VideoFrameItem(pg.GraphicsObject):
    """Occupies (0, 0, width, height) in its parent's coordinates, one unit per frame pixel."""

    def __init__(self) -> None:
        super().__init__()
        self._frame: QVideoFrame | None = None
        self._rect = QRectF()
        self.paints = 0

    def set_frame(self, frame: QVideoFrame) -> None:
        size = frame.size()
        rect = QRectF(0, 0, size.width(), size.height())
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self._frame = frame
        self.update()

    def clear(self) -> None:
        self._frame = None
        self.update()

    @property
    def frame(self) -> QVideoFrame | None:
        return self._frame

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect)

    def paint(self, painter, option, widget=None) -> None:
        if self._frame is None:
            return
        image = self._frame.toImage()
        if not image.isNull():
            painter.drawImage(self._rect, image)
            self.paints += 1
