"""A small on/off switch: a checkable button painted as a track and a knob."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QAbstractButton, QWidget


class ToggleSwitch(QAbstractButton):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCheckable(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def sizeHint(self) -> QSize:
        return QSize(36, 20)

    def paintEvent(self, event) -> None:
        palette = self.palette()
        track = QRectF(1, 3, self.width() - 2, self.height() - 6)
        on_color = palette.color(QPalette.ColorRole.Highlight)
        off_color = palette.color(QPalette.ColorRole.Mid)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        color = on_color if self.isChecked() else off_color
        if not self.isEnabled():
            color = QColor(color.red(), color.green(), color.blue(), 90)
        painter.setBrush(color)
        painter.drawRoundedRect(track, track.height() / 2, track.height() / 2)
        diameter = self.height() - 2
        x = self.width() - diameter - 1 if self.isChecked() else 1
        painter.setBrush(palette.color(QPalette.ColorRole.Light) if self.isEnabled() else off_color)
        painter.drawEllipse(QRectF(x, 1, diameter, diameter))
        if self.hasFocus():
            painter.setPen(on_color)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1), 9, 9)
