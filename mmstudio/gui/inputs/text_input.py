"""The text input, debounced: the model runs once the typing pauses, not once per key."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from mmstudio.gui.inputs.file_loading import BackgroundLoader
from mmstudio.inputs import load_text_file

# Long enough to cover the gap between keystrokes of a fluent typist, short enough to feel live.
DEBOUNCE_MS = 300
MAX_CHARS = 512  # what normalize_text keeps


class TextInput(QWidget):
    """Emits ``text_changed`` once per pause in typing, with the whole text."""

    text_changed = Signal(str)
    error_occurred = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # A dropped text file is read off the GUI thread, like images and audio: it may sit
        # on a slow network share.
        self.loader = BackgroundLoader(self)
        self.loader.loaded.connect(lambda text: self.set_text(text))
        self.loader.failed.connect(self.error_occurred)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("textEditor")
        self.editor.setPlaceholderText("Type or paste text, e.g. “I think it is a seven”")
        self.editor.setTabChangesFocus(True)
        line = self.editor.fontMetrics().lineSpacing()
        self.editor.setFixedHeight(int(line * 3.4) + 10)
        self.editor.textChanged.connect(self._on_editor_changed)
        self.count = QLabel()
        self.count.setStyleSheet("color: palette(placeholder-text);")
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight)
        hint = QLabel("Ctrl+Enter analyses at once")
        hint.setStyleSheet("color: palette(placeholder-text);")
        footer = QHBoxLayout()
        footer.addWidget(hint)
        footer.addStretch(1)
        footer.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.editor)
        layout.addLayout(footer)
        self._pending = False
        self._debounced_send = None  # made on the first edit: superqt is imported after the show
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self.editor)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self.flush)
        self._update_count()

    def text(self) -> str:
        return self.editor.toPlainText()

    def load_path(self, path: str) -> None:
        """Read a text file in the background; ``text_changed`` or ``error_occurred`` follows."""
        self.loader.start(lambda: load_text_file(path, require_text=True), str(path))

    def set_text(self, text: str, *, notify: bool = True) -> None:
        """Replace the text; ``notify=False`` when the caller requests the analysis itself."""
        self.editor.blockSignals(True)
        self.editor.setPlainText(text)
        self.editor.blockSignals(False)
        self._cancel_send()
        self._pending = False
        self._update_count()
        if notify:
            self.text_changed.emit(self.text())

    def flush(self) -> None:
        """Send a pending edit now instead of waiting for the pause."""
        self._cancel_send()
        self._send()

    def is_pending(self) -> bool:
        return self._pending

    def summary(self) -> str:
        words = len(self.text().split())
        return "no text" if words == 0 else f"{words} word{'s' if words != 1 else ''}"

    def _on_editor_changed(self) -> None:
        self._update_count()
        self._pending = True
        self._send_after_pause()  # every call restarts the wait: that is the debounce

    def _send_after_pause(self) -> None:
        if self._debounced_send is None:
            from superqt.utils import qdebounced

            self._debounced_send = qdebounced(self._send, timeout=DEBOUNCE_MS, parent=self)
        self._debounced_send()

    def _cancel_send(self) -> None:
        if self._debounced_send is not None:
            self._debounced_send.cancel()

    def _send(self) -> None:
        self._pending = False
        self.text_changed.emit(self.text())

    def _update_count(self) -> None:
        length = len(self.text())
        over = length > MAX_CHARS
        self.count.setText(f"{length} / {MAX_CHARS}" + (" — the rest is ignored" if over else ""))
