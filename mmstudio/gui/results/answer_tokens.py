"""A generated answer drawn token by token, each token with a strip under it showing how its
Shapley mass splits between the modalities, one colour per modality.

Tokens flow like text and wrap at the widget's width. Hovering a token reports it, clicking
reports it too (clicking beside every token reports -1), and the keys step through them: the
answer view decides what is selected. Painted, not built of labels: an answer of a thousand
tokens is one widget, and a new token during streaming costs one repaint.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from mmstudio.gui.common.theme import MODALITY_COLORS

STRIP_HEIGHT = 5  # the modality shares under each token
_PAD_X = 2
_LINE_GAP = 6
_MARGIN = 4


@dataclass(frozen=True)
class _Placed:
    rect: QRectF  # the token's text
    strip: QRectF  # its shares under it


class AnswerTokens(QWidget):
    """Signals: hovered(index, -1 when off every token), clicked(index or -1), stepped(+1/-1),
    escaped()."""

    hovered = Signal(int)
    clicked = Signal(int)
    stepped = Signal(int)
    escaped = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("answerTokens")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.pieces: list[str] = []
        self.shares: np.ndarray | None = None  # (T, M) or None while streaming
        self.modalities: list[str] = []
        self.selected: int | None = None
        self.hovered_index = -1
        self._placed: list[_Placed] = []
        self._laid_out_width = -1
        self._cursor = (float(_MARGIN), float(_MARGIN))  # where the next token goes
        # Each distinct piece measured once: a streamed answer is laid out again at every
        # delivery, and its pieces repeat.
        self._advances: dict[str, int] = {}
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        self.setFont(font)

    # What is shown

    def set_tokens(
        self, pieces: list[str], shares: np.ndarray | None = None, modalities: list[str] = ()
    ) -> None:
        pieces = list(pieces)
        # A streamed answer only grows: the tokens already placed stay where they are.
        grown = len(pieces) >= len(self.pieces) and pieces[: len(self.pieces)] == self.pieces
        self.pieces = pieces
        self.shares = None if shares is None or not len(shares) else np.asarray(shares)
        self.modalities = list(modalities)
        if self.selected is not None and self.selected >= len(self.pieces):
            self.selected = None
        if not grown:
            self._laid_out_width = -1
        self._lay_out()
        self.update()

    def set_selected(self, index: int | None) -> None:
        if index != self.selected:
            self.selected = index
            self.update()

    def token_rect(self, index: int) -> QRectF:
        """Where token ``index`` is drawn (for tests and accessibility)."""
        self._lay_out()
        return self._placed[index].rect

    # Layout

    def _lay_out(self) -> None:
        """Place the tokens not placed yet at this width (all of them after a resize)."""
        width = max(self.width(), 80)
        if width != self._laid_out_width:
            self._laid_out_width = width
            self._placed = []
            self._cursor = (float(_MARGIN), float(_MARGIN))
        if len(self._placed) == len(self.pieces) and self._placed:
            return
        metrics = QFontMetrics(self.font())
        line_height = metrics.height() + STRIP_HEIGHT + _LINE_GAP
        x, y = self._cursor
        placed = self._placed
        for piece in self.pieces[len(placed) :]:
            lines = piece.split("\n")
            if len(lines) > 1:  # each newline inside the token starts a new line
                x, y = float(_MARGIN), y + line_height * (len(lines) - 1)
            shown = lines[-1] or " "  # a token that only ends a line still has a place
            advance = self._advances.get(shown)
            if advance is None:
                advance = self._advances[shown] = metrics.horizontalAdvance(shown) + 2 * _PAD_X
            if x + advance > width - _MARGIN and x > _MARGIN:
                x, y = float(_MARGIN), y + line_height
            rect = QRectF(x, y, advance, metrics.height())
            strip = QRectF(x + 1, y + metrics.height() + 1, max(advance - 2, 2), STRIP_HEIGHT)
            placed.append(_Placed(rect, strip))
            x += advance
        self._cursor = (x, y)
        height = int(y + line_height + _MARGIN) if placed else 2 * _MARGIN + metrics.height()
        # Tall enough for every line at this width: a scroll area around it scrolls the rest.
        self.setMinimumHeight(height)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._advances.clear()
            self._laid_out_width = -1
        super().changeEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._lay_out()

    def _index_at(self, x: float, y: float) -> int:
        self._lay_out()
        for index, placed in enumerate(self._placed):
            box = placed.rect.united(placed.strip)
            if box.contains(x, y):
                return index
        return -1

    # Painting

    def paintEvent(self, event) -> None:
        self._lay_out()
        exposed = QRectF(event.rect())  # in a scroll area, the visible part only
        painter = QPainter(self)
        palette = self.palette()
        ink = palette.color(QPalette.ColorRole.Text)
        highlight = palette.color(QPalette.ColorRole.Highlight)
        painter.setFont(self.font())
        for index, (piece, placed) in enumerate(zip(self.pieces, self._placed, strict=True)):
            if not placed.rect.united(placed.strip).intersects(exposed):
                continue
            if index == self.selected or index == self.hovered_index:
                fill = QColor(highlight)
                fill.setAlphaF(0.45 if index == self.selected else 0.2)
                painter.fillRect(placed.rect.united(placed.strip), fill)
            painter.setPen(ink)
            text = piece.split("\n")[-1]
            painter.drawText(
                placed.rect.adjusted(_PAD_X, 0, 0, 0),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
            self._paint_strip(painter, index, placed.strip)
        painter.end()

    def _paint_strip(self, painter: QPainter, index: int, strip: QRectF) -> None:
        if self.shares is None or index >= len(self.shares):
            painter.fillRect(strip, QColor(128, 128, 128, 60))  # not explained (yet)
            return
        x = strip.left()
        for share, modality in zip(self.shares[index], self.modalities, strict=True):
            width = float(share) * strip.width()
            if width > 0:
                painter.fillRect(
                    QRectF(x, strip.top(), width, strip.height()),
                    QColor(MODALITY_COLORS.get(modality, "#888888")),
                )
                x += width

    # Mouse and keys

    def mouseMoveEvent(self, event) -> None:
        index = self._index_at(event.position().x(), event.position().y())
        if index != self.hovered_index:
            self.hovered_index = index
            self.update()
            self.hovered.emit(index)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        if self.hovered_index != -1:
            self.hovered_index = -1
            self.update()
            self.hovered.emit(-1)
        super().leaveEvent(event)

    def mousePressEvent(self, event) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self.clicked.emit(self._index_at(event.position().x(), event.position().y()))

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.stepped.emit(1 if key == Qt.Key.Key_Right else -1)
        elif key == Qt.Key.Key_Escape:
            self.escaped.emit()
        else:
            super().keyPressEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            index = self._index_at(event.pos().x(), event.pos().y())
            if index >= 0:
                QToolTip.showText(event.globalPos(), self._tip(index), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def _tip(self, index: int) -> str:
        tip = f"token {index + 1}: “{self.pieces[index]}”"
        if self.shares is not None and index < len(self.shares):
            parts = ", ".join(
                f"{m} {share:.0%}"
                for m, share in zip(self.modalities, self.shares[index], strict=True)
                if share > 0
            )
            tip += f"\nshare of its Shapley mass: {parts or 'none (no modality changed it)'}"
        return tip


def share_legend(present: list[str]) -> str:
    """What the strips under the tokens mean, a swatch per modality (HTML; live mode's too)."""
    shown = present or list(MODALITY_COLORS)
    swatches = " ".join(
        f"<span style='background-color:{MODALITY_COLORS.get(m, '#888888')};'>&nbsp;&nbsp;&nbsp;"
        f"</span> {html.escape(m, quote=False)}"
        for m in shown
    )
    return (
        f"<span style='color:gray'>Under each token, its share of the Shapley mass:</span> "
        f"{swatches}"
    )
