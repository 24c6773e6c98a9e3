"""A titled card for one input modality, with the switch that sends it to the model or not."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from mmstudio.gui.common.theme import MODALITY_COLORS
from mmstudio.gui.inputs.toggle_switch import ToggleSwitch


class ModalityCard(QFrame):
    """Header (colour dot, title, summary, switch) above a body the input widget fills."""

    enabled_changed = Signal(bool)

    def __init__(self, modality: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.modality = modality
        self.setObjectName(f"{modality}Card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(6)
        layout.addLayout(self._build_header(title))
        self.body = QVBoxLayout()
        self.body.setSpacing(6)
        layout.addLayout(self.body)

    def _build_header(self, title: str) -> QHBoxLayout:
        header = QHBoxLayout()
        dot = QLabel("●")
        dot.setStyleSheet(f"color: {MODALITY_COLORS.get(self.modality, '#888')};")
        heading = QLabel(f"<b>{title}</b>")
        self.summary = QLabel()
        self.summary.setObjectName("cardSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setStyleSheet("color: palette(placeholder-text);")
        self.switch = ToggleSwitch()
        self.switch.setChecked(True)
        self.switch.setToolTip(
            f"Send the {self.modality} to the model (off: the model sees it as absent)"
        )
        self.switch.setAccessibleName(f"Use {self.modality}")
        self.switch.toggled.connect(self._on_switch_toggled)
        header.addWidget(dot)
        header.addWidget(heading)
        header.addWidget(self.summary, 1)
        header.addWidget(self.switch)
        return header

    @property
    def use_input(self) -> bool:
        return self.switch.isChecked()

    def set_use_input(self, on: bool) -> None:
        self.switch.setChecked(on)

    def set_summary(self, text: str) -> None:
        metrics = self.summary.fontMetrics()
        # Long file names must not widen the input column.
        self.summary.setText(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, 170))
        self.summary.setToolTip(text)

    def _on_switch_toggled(self, on: bool) -> None:
        self.setProperty("off", not on)
        self.style().unpolish(self)
        self.style().polish(self)
        self.enabled_changed.emit(on)
