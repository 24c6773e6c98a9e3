"""The text as the model read it, each word shaded by its weight; hover a word for its value
and the weights of its characters (or sub-word tokens).

Words, not tokens, are shaded: a character's weight means little on its own, and a run of
differently shaded letters is hard to read. Spaces and punctuation belong to no word and
stay unshaded. The title says which method made the map.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel, QTextBrowser, QToolTip, QVBoxLayout, QWidget

from mmstudio.explain.words import word_spans, words_of
from mmstudio.gui.results import colormaps
from mmstudio.gui.results.heatmap_frame import scale_caption

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


def _ink(rgb: np.ndarray) -> str:
    # Relative luminance decides whether black or white text stays readable on the shade.
    luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    return "#000000" if luminance > 140 else "#FFFFFF"


def _shown(token: str) -> str:
    if token == " ":
        return "&nbsp;"
    return html.escape(token).replace(" ", "&nbsp;")


def word_means(weights: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    """A word's weight: the mean of its tokens' (a long word is not heavier for its length)."""
    return np.array([float(np.mean(weights[a:b])) for a, b in spans], dtype=np.float32)


def _ranks(values: np.ndarray) -> np.ndarray:
    rank = np.empty(len(values), dtype=int)
    rank[np.argsort(-values, kind="stable")] = np.arange(1, len(values) + 1)
    return rank


def _word_tip(tokens: list[str], weights: np.ndarray, weight: float, rank: int, count: int) -> str:
    tip = f"“{''.join(tokens)}”  weight {weight:.3f}  (rank {rank} of {count} words)"
    if len(tokens) > 1:
        parts = "  ".join(f"{t} {w:.2f}" for t, w in zip(tokens, weights, strict=True))
        tip += f"\nper character: {parts}"
    return tip


class TextMapView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("<b>Text</b>")
        self.title.setWordWrap(True)  # the method and scale caption must not widen the window
        self.browser = TokenBrowser()
        font = self.browser.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        self.browser.setFont(font)
        self.browser.setMinimumHeight(int(self.browser.fontMetrics().lineSpacing() * 2.2) + 8)
        self._colormap = colormaps.DEFAULT
        self._tokens: list[str] = []
        self._weights: np.ndarray | None = None
        self._method = ""
        self.signed = False
        self.words: list[str] = []
        self.word_weights = np.zeros(0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.browser, 1)
        self.clear()

    def show_map(
        self,
        tokens: list[str],
        weights: np.ndarray | None,
        method: str = "",
        signed: bool = False,
    ) -> None:
        self._tokens = list(tokens)
        self._weights = None if weights is None else np.asarray(weights, dtype=np.float32)
        self._method = method
        self.signed = signed
        if not tokens:
            self.clear()
            return
        self._render()

    def _render(self) -> None:
        tokens, weights = self._tokens, self._weights
        if weights is None or len(weights) != len(tokens):
            weights = np.zeros(len(tokens), dtype=np.float32)
        spans = word_spans(tokens)
        self.word_weights = word_means(weights, spans)
        colours = colormaps.rgb(self._colormap, self.word_weights, self.signed)
        rank = _ranks(self.word_weights)
        pieces, tips, position = [], [], 0
        for index, ((start, end), weight, colour) in enumerate(
            zip(spans, self.word_weights, colours, strict=True)
        ):
            pieces.append("".join(_shown(t) for t in tokens[position:start]))
            background = "#{:02x}{:02x}{:02x}".format(*colour)
            pieces.append(
                f'<a href="{_ANCHOR}{index}" style="background-color:{background}; color:{_ink(colour)};'
                f' text-decoration:none;">{"".join(_shown(t) for t in tokens[start:end])}</a>'
            )
            tips.append(
                _word_tip(tokens[start:end], weights[start:end], weight, rank[index], len(spans))
            )
            position = end
        pieces.append("".join(_shown(t) for t in tokens[position:]))
        self.words = words_of(tokens, spans)
        self.browser.tooltips = tips
        low, high = colormaps.levels(self.signed)
        legend = "".join(
            f'<span style="background-color:#{c[0]:02x}{c[1]:02x}{c[2]:02x};">&nbsp;&nbsp;</span>'
            for c in colormaps.rgb(self._colormap, np.linspace(low, high, 12), self.signed)
        )
        caption = html.escape(scale_caption(self._method, self.signed))
        ends = ("against", "for") if self.signed else ("low", "high")
        words = f"{len(spans)} word{'s' if len(spans) != 1 else ''}"
        self.browser.setHtml(f"<div style='line-height:150%'>{''.join(pieces)}</div>")
        self.title.setText(
            f"<b>Text</b> <span style='color:gray'> · {caption} · {words} · {ends[0]}</span> "
            f"{legend} <span style='color:gray'>{ends[1]} · hover a word for its weight</span>"
        )

    def clear(self) -> None:
        self._tokens, self._weights, self._method, self.signed = [], None, "", False
        self.words, self.word_weights = [], np.zeros(0)
        self.browser.tooltips = []
        self.browser.setHtml("<span style='color:gray'>No text in this analysis</span>")
        self.title.setText("<b>Text</b>")

    def has_map(self) -> bool:
        return bool(self._tokens)

    def set_colormap(self, name: str) -> None:
        self._colormap = name
        if self._tokens:
            self._render()
