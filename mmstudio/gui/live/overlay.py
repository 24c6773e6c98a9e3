"""The live heatmap overlay: transparent where the model did not look, inferno where it did.

The coloured image is made on the analysis thread (QImage, unlike QPixmap, may be built on any
thread), so the GUI thread only draws it; pyqtgraph's ImageItem would instead map the heatmap
through its lookup table in Python on every paint, which at 30 frames/s costs more than the
frame itself.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

# At full attention the frame still shows through; the user must see what the model saw.
MAX_ALPHA = 170


def heatmap_lut() -> np.ndarray:
    """(256, 4) uint8 RGBA: inferno colours with alpha rising with the heat."""
    lut = pg.colormap.get("inferno").getLookupTable(0.0, 1.0, 256, alpha=True)
    # Quadratic alpha: weak, diffuse attention fades out so the hot spots stand out.
    lut[:, 3] = (np.linspace(0.0, 1.0, 256) ** 2 * MAX_ALPHA).astype(np.uint8)
    return np.ascontiguousarray(lut, dtype=np.uint8)


_LUT = heatmap_lut()


def heatmap_to_qimage(heatmap: np.ndarray) -> QImage:
    """(H, W) values in [0, 1] -> a premultiplied ARGB image, the format QPainter blends fastest."""
    levels = (np.clip(np.nan_to_num(heatmap), 0.0, 1.0) * 255).astype(np.uint8)
    rgba = np.ascontiguousarray(_LUT[levels])
    height, width = levels.shape
    image = QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
    # The conversion copies, so the image no longer needs the numpy buffer.
    return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)


class HeatmapItem(pg.GraphicsObject):
    """Draws the newest heatmap image stretched over ``rect`` (the frame, in frame pixels)."""

    def __init__(self) -> None:
        super().__init__()
        self.image: QImage | None = None
        self._rect = QRectF()

    def set_image(self, image: QImage | None, rect: QRectF, repaint: bool = True) -> None:
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = QRectF(rect)
        self.image = image
        if repaint:
            self.update()

    def set_rect(self, rect: QRectF) -> None:
        self.set_image(self.image, rect)

    def clear(self) -> None:
        self.set_image(None, self._rect)

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect)

    def paint(self, painter, option, widget=None) -> None:
        if self.image is not None:
            painter.drawImage(self._rect, self.image)
