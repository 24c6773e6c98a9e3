"""Menu actions made one way everywhere: a text, an optional shortcut and a slot that ignores
the checked flag Qt passes."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget


def add_action(menu: QMenu, parent: QWidget, text: str, shortcut, slot: Callable[[], object]):
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    return action
