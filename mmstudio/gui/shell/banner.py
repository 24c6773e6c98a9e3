"""An inline message strip at the top of the window: errors, and notices such as missing weights.

Errors appear here rather than in dialogs so the person can read them next to the inputs and the
previous result, which stays in place.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from mmstudio.gui.common.theme import banner_colors


class Banner(QFrame):
    closed = Signal()

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind  # "error" or "info"
        self.setObjectName(f"{kind}Banner")
        self.icon = QLabel("⚠" if kind == "error" else "ℹ")
        self.message = QLabel()
        self.message.setObjectName(f"{kind}Message")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.message.setOpenExternalLinks(False)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._restyle()
        self.hide()

    def show_message(self, html: str) -> None:
        self._restyle()  # the theme may have changed since the last message
        self.message.setText(html)
        self.show()

    def text(self) -> str:
        return self.message.text() if self.isVisible() else ""

    def plain_text(self) -> str:
        """The message as a person reads it: no markup, entities decoded."""
        return QTextDocumentFragment.fromHtml(self.text()).toPlainText()

    def dismiss(self) -> None:
        self.hide()
        self.closed.emit()

    def _restyle(self) -> None:
        background, ink, border = banner_colors(self.kind)
        self.setStyleSheet(
            f"#{self.objectName()} {{ background: {background}; border: 1px solid {border}; border-radius: 4px; }}"
            f" #{self.objectName()} QLabel {{ color: {ink}; }}"
        )
