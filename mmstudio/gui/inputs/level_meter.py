"""A horizontal input-level meter in dBFS with a falling peak marker."""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DB = -60.0
# Per update (~30 Hz): how fast the marker falls back, like a hardware meter's peak hold.
PEAK_FALL_DB = 1.5


class LevelMeter(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Input level (dBFS)")
        self._db = FLOOR_DB
        self._peak_db = FLOOR_DB

    def sizeHint(self) -> QSize:
        return QSize(200, 10)

    @property
    def level_db(self) -> float:
        return self._db

    def set_level(self, amplitude: float) -> None:
        self._db = max(FLOOR_DB, 20.0 * math.log10(amplitude)) if amplitude > 0 else FLOOR_DB
        self._peak_db = max(self._db, self._peak_db - PEAK_FALL_DB)
        self.update()

    def reset(self) -> None:
        self._db = self._peak_db = FLOOR_DB
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.setBrush(self.palette().color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(rect, 3, 3)
        fraction = (self._db - FLOOR_DB) / -FLOOR_DB
        if fraction > 0:
            gradient = QLinearGradient(rect.left(), 0, rect.right(), 0)
            gradient.setColorAt(0.0, QColor("#54A24B"))
            gradient.setColorAt(0.75, QColor("#E2C541"))
            gradient.setColorAt(1.0, QColor("#D6604D"))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(gradient)
            painter.drawRoundedRect(
                QRectF(rect.left(), rect.top(), rect.width() * fraction, rect.height()), 3, 3
            )
        peak = (self._peak_db - FLOOR_DB) / -FLOOR_DB
        if peak > 0:
            x = rect.left() + rect.width() * peak
            painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            painter.drawLine(int(x), int(rect.top()), int(x), int(rect.bottom()))
