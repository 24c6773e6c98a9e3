"""Conversions between PIL images, numpy arrays and Qt images (cheap; safe on the GUI thread)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage, QPixmap

# A preview never needs more than this; a 40-megapixel photo must not sit in video memory.
PREVIEW_MAX_SIDE = 1024


def pil_to_qimage(image: Image.Image) -> QImage:
    rgb = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    height, width, _ = rgb.shape
    # copy(): the QImage must own its pixels once the numpy buffer goes away.
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def preview_image(image: Image.Image) -> QImage:
    """The preview as a QImage: unlike a QPixmap, it may be made in a worker thread."""
    if max(image.size) > PREVIEW_MAX_SIDE:
        image = image.copy()
        image.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
    return pil_to_qimage(image)


def preview_pixmap(image: Image.Image) -> QPixmap:
    return QPixmap.fromImage(preview_image(image))


def qimage_to_png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())
