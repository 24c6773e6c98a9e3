"""The text as the model tokenised it, each token shaded by its weight; hover for the value."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel, QTextBrowser, QToolTip, QVBoxLayout, QWidget

from mmstudio.gui import colormaps

_ANCHOR = "token:"


class TokenBrowser(QTextBrowser):
    """A read-only rich-text view that shows a tooltip for the token under the mouse."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)  # tokens are anchors only so that anchorAt() can find them
        self.setObjectName("tokenBrowser")
        self.setMouseTracking(True)
        self.tooltips: list[str] = []

    def viewportEvent(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            anchor = self.anchorAt(event.pos())
            if anchor.startswith(_ANCHOR):
                index = int(anchor[len(_ANCHOR) :])
                QToolTip.showText(event.globalPos(), self.tooltips[index], self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def tooltip_at_token(self, index: int) -> str:
        return self.tooltips[index]


def _ink(rgb: np.ndarray) -> str:
    # Relative luminance decides whether black or white text stays readable on the shade.
    luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    return "#000000" if luminance > 140 else "#FFFFFF"


def _shown(token: str) -> str:
    if token == " ":
        return "&nbsp;"
    return html.escape(token).replace(" ", "&nbsp;")


class TextMapView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<b>Text</b>")
        self.browser = TokenBrowser()
        font = self.browser.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        self.browser.setFont(font)
        self.browser.setMinimumHeight(int(self.browser.fontMetrics().lineSpacing() * 2.2) + 8)
        self._colormap = colormaps.DEFAULT
        self._tokens: list[str] = []
        self._weights: np.ndarray | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.browser, 1)
        self.clear()

    def show_map(self, tokens: list[str], weights: np.ndarray | None) -> None:
        self._tokens = list(tokens)
        self._weights = None if weights is None else np.asarray(weights, dtype=np.float32)
        if not tokens:
            self.clear()
            return
        self._render()

    def _render(self) -> None:
        tokens, weights = self._tokens, self._weights
        if weights is None or len(weights) != len(tokens):
            weights = np.zeros(len(tokens), dtype=np.float32)
        colours = colormaps.rgb(self._colormap, weights)
        order = np.argsort(-weights)
        rank = np.empty(len(tokens), dtype=int)
        rank[order] = np.arange(1, len(tokens) + 1)
        spans, tips = [], []
        for index, (token, weight, colour) in enumerate(zip(tokens, weights, colours, strict=True)):
            background = "#{:02x}{:02x}{:02x}".format(*colour)
            spans.append(
                f'<a href="{_ANCHOR}{index}" style="background-color:{background}; color:{_ink(colour)};'
                f' text-decoration:none;">{_shown(token)}</a>'
            )
            tips.append(f"“{token}”  weight {weight:.3f}  (rank {rank[index]} of {len(tokens)})")
        self.browser.tooltips = tips
        legend = "".join(
            f'<span style="background-color:#{c[0]:02x}{c[1]:02x}{c[2]:02x};">&nbsp;&nbsp;</span>'
            for c in colormaps.rgb(self._colormap, np.linspace(0.0, 1.0, 12))
        )
        self.browser.setHtml(f"<div style='line-height:150%'>{''.join(spans)}</div>")
        self.title.setText(
            f"<b>Text</b> <span style='color:gray'>· {len(tokens)} tokens · low</span> {legend}"
            " <span style='color:gray'>high · hover a token for its weight</span>"
        )

    def clear(self) -> None:
        self._tokens, self._weights = [], None
        self.browser.tooltips = []
        self.browser.setHtml("<span style='color:gray'>No text in this analysis</span>")
        self.title.setText("<b>Text</b>")

    def has_map(self) -> bool:
        return bool(self._tokens)

    def set_colormap(self, name: str) -> None:
        self._colormap = name
        if self._tokens:
            self._render()
