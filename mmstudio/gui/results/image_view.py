"""The input image with the model's relevance heatmap over it, a colour bar beside it."""

from __future__ import annotations

import html
import math

import numpy as np
from PIL import Image
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QLabel, QWidget

from mmstudio.gui.common.plotting import pg
from mmstudio.gui.common.theme import style_plot
from mmstudio.gui.results import colormaps
from mmstudio.gui.results.heatmap_frame import (
    add_heatmap_overlay,
    scale_caption,
    show_scale,
    titled_stack,
)

# Screens show no more than this; striding a larger image keeps redraws and memory small.
DISPLAY_MAX_SIDE = 1024


def _display_stride(height: int, width: int) -> int:
    return max(1, math.ceil(max(height, width) / DISPLAY_MAX_SIDE))


class ImageMapView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<b>Image</b>")
        self.title.setWordWrap(True)  # the method and scale caption must not widen the window
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("imageMap")
        self.graphics.setMinimumSize(160, 140)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.view = self.graphics.addViewBox(
            row=0, col=0, lockAspect=True, invertY=True, enableMenu=False
        )
        self.base = pg.ImageItem()
        self.view.addItem(self.base)
        self.overlay, self.colorbar = add_heatmap_overlay(self.graphics, self.view, row=0)
        style_plot(self.graphics, self)
        self._shape: tuple[int, ...] = ()
        self._colormap = colormaps.DEFAULT
        self.signed = False
        self.empty, self._stack = titled_stack(
            self, self.title, self.graphics, "No image in this analysis"
        )

    def show_map(
        self,
        image: Image.Image | None,
        heatmap: np.ndarray | None,
        method: str = "",
        signed: bool = False,
        box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    ) -> None:
        """``heatmap`` is either the image's size (H, W) or a coarser grid laid over the part
        ``box`` of the image (x0, y0, x1, y1 as fractions of its width and height), each cell
        drawn as a block: a generative model's map is one value per cell of its token grid."""
        if image is None:
            self.clear()
            return
        step = _display_stride(image.height, image.width)
        # Reduced by Pillow before the copy to numpy: a 2048-pixel image is 12 MB to copy.
        shown = image.convert("RGB") if image.mode != "RGB" else image
        pixels = np.asarray(shown.reduce(step) if step > 1 else shown)
        self.base.setImage(pixels, levels=(0, 255), autoLevels=False)
        if heatmap is not None:
            self.signed = signed
            values = np.asarray(heatmap, dtype=np.float32)
            if values.shape == (image.height, image.width):
                values = values[::step, ::step]
            height, width = pixels.shape[:2]
            x0, y0, x1, y1 = box
            self.overlay.setImage(
                values,
                levels=colormaps.levels(signed),
                autoLevels=False,
                rect=QRectF(x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height),
            )
            show_scale(self.colorbar, self._colormap, signed)
            self.overlay.show()
        else:
            self.overlay.hide()
        caption = scale_caption(method, self.signed) if heatmap is not None else method
        self.title.setText(
            "<b>Image</b>"
            + (f" <span style='color:gray'>· {html.escape(caption)}</span>" if caption else "")
        )
        self.title.setToolTip(
            "Red regions supported the prediction, blue ones argued against it"
            if heatmap is not None and self.signed
            else "Brighter regions mattered more to the prediction"
        )
        self._stack.setCurrentWidget(self.graphics)
        if image.size != self._shape:
            self._shape = image.size  # a new range only for a new size: no extra repaint
            self.view.autoRange(padding=0.01)

    def clear(self) -> None:
        self._shape = ()
        self.base.clear()
        self.overlay.clear()
        self.title.setText("<b>Image</b>")
        self._stack.setCurrentWidget(self.empty)

    def has_map(self) -> bool:
        return self._stack.currentWidget() is self.graphics and self.overlay.image is not None

    def set_colormap(self, name: str) -> None:
        self._colormap = name
        show_scale(self.colorbar, name, self.signed)

    def set_opacity(self, opacity: float) -> None:
        self.overlay.setOpacity(opacity)
