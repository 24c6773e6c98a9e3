"""The audio as the model heard it: waveform above the log-mel spectrogram, heatmap over it.

Both plots share one time axis in seconds. A clip longer than the model's window is shown
whole, with the spectrogram placed over the stretch the model analysed.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QLabel, QWidget

from mmstudio.gui.common.plotting import pg
from mmstudio.gui.common.theme import MODALITY_COLORS, style_plot
from mmstudio.gui.inputs.audio_input import clip_envelope
from mmstudio.gui.results import colormaps
from mmstudio.gui.results.heatmap_frame import (
    add_heatmap_overlay,
    scale_caption,
    show_scale,
    titled_stack,
)
from mmstudio.inputs import AudioClip
from mmstudio.inputs.loudest_window import loudest_window_start


def analysed_offset(samples: np.ndarray, rate: int, seconds: float) -> float:
    """Start (s) of the stretch FusionNet's preprocessing keeps: the loudest ``seconds``."""
    return loudest_window_start(samples, int(round(seconds * rate))) / rate


class AudioMapView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<b>Audio</b>")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("audioMap")
        self.graphics.setMinimumSize(200, 140)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.wave_plot = self.graphics.addPlot(row=0, col=0)
        self.spec_plot = self.graphics.addPlot(row=1, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 1)
        self.graphics.ci.layout.setRowStretchFactor(1, 3)
        for plot in (self.wave_plot, self.spec_plot):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getAxis("left").setWidth(42)  # equal widths keep the two time axes aligned
        self.wave_plot.setXLink(self.spec_plot)
        self.wave_plot.setMouseEnabled(x=True, y=False)
        self.wave_plot.getAxis("bottom").setStyle(showValues=False)
        self.wave_plot.setYRange(-1.0, 1.0, padding=0.05)
        self.wave_plot.getAxis("left").setTicks([[(-1.0, "-1"), (0.0, "0"), (1.0, "1")]])
        self.wave = self.wave_plot.plot(pen=pg.mkPen(MODALITY_COLORS["audio"], width=1))
        self.window_region = pg.LinearRegionItem(
            movable=False, brush=pg.mkBrush(128, 128, 128, 40), pen=pg.mkPen(None)
        )
        self.wave_plot.addItem(self.window_region)
        self.spec_plot.setLabel("bottom", "time", units="s")
        self.spec_plot.setLabel("left", "mel band")
        self.spec_plot.setMouseEnabled(x=True, y=False)
        self.spectrogram = pg.ImageItem()
        self.spectrogram.setLookupTable(colormaps.GREY_LUT)
        self.spec_plot.addItem(self.spectrogram)
        self.overlay, self.colorbar = add_heatmap_overlay(self.graphics, self.spec_plot, row=1)
        style_plot(self.graphics, self)
        self._shown_key: tuple | None = None
        self._colormap = colormaps.DEFAULT
        self.signed = False
        self.empty, self._stack = titled_stack(
            self, self.title, self.graphics, "No audio in this analysis"
        )

    def show_map(
        self,
        clip: AudioClip | None,
        spectrogram: np.ndarray | None,
        heatmap: np.ndarray | None,
        hop_seconds: float | None,
        method: str = "",
        signed: bool = False,
    ) -> None:
        if clip is None or spectrogram is None or not hop_seconds:
            self.clear()
            return
        mels, frames = spectrogram.shape
        analysed = max(frames - 1, 1) * hop_seconds
        offset = (
            analysed_offset(clip.samples, clip.sample_rate, analysed)
            if clip.duration > analysed + hop_seconds
            else 0.0
        )
        rect = QRectF(offset, 0.0, frames * hop_seconds, float(mels))
        key = (clip, spectrogram.shape, hop_seconds)  # holds the clip: an id() could be reused
        shown = self._shown_key
        if shown is None or shown[0] is not clip or shown[1:] != key[1:]:
            # The waveform and the spectrogram depend on the clip (and the model's mel settings)
            # alone: while only the text or the image changes, redrawing them is wasted GUI time.
            self._shown_key = key
            x, y = clip_envelope(clip.samples, clip.sample_rate)
            self.wave.setData(x, y)
            self.window_region.setRegion((offset, offset + analysed))
            self.window_region.setVisible(clip.duration > analysed + hop_seconds)
            low, high = np.percentile(spectrogram, [5.0, 99.5])
            self.spectrogram.setImage(
                np.asarray(spectrogram, dtype=np.float32),
                levels=(low, max(high, low + 1e-3)),
                autoLevels=False,
                rect=rect,
            )
            self.spec_plot.setXRange(
                0.0, max(clip.duration, offset + frames * hop_seconds), padding=0
            )
            self.spec_plot.setYRange(0.0, float(mels), padding=0)
        caption = ""
        if heatmap is not None:
            self.signed = signed
            self.overlay.setImage(
                np.asarray(heatmap, dtype=np.float32),
                levels=colormaps.levels(signed),
                autoLevels=False,
                rect=rect,
            )
            show_scale(self.colorbar, self._colormap, signed)
            self.overlay.show()
            caption = f" · {html.escape(scale_caption(method, signed))}"
        else:
            self.overlay.hide()
        self.title.setText(
            f"<b>Audio</b> <span style='color:gray'>· log-mel spectrogram, {mels} bands"
            f"{caption}</span>"
        )
        self._stack.setCurrentWidget(self.graphics)

    def clear(self) -> None:
        self._shown_key = None
        self.wave.setData([], [])
        self.spectrogram.clear()
        self.overlay.clear()
        self.title.setText("<b>Audio</b>")
        self._stack.setCurrentWidget(self.empty)

    def has_map(self) -> bool:
        return self._stack.currentWidget() is self.graphics

    def set_colormap(self, name: str) -> None:
        self._colormap = name
        show_scale(self.colorbar, name, self.signed)

    def set_opacity(self, opacity: float) -> None:
        self.overlay.setOpacity(opacity)
