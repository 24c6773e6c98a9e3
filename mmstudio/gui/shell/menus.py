"""The window's File, Examples and Help menus and their actions (the Model menu is
``model_menu.py``, the Live actions ``live_actions.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from mmstudio.gui.common.actions import add_action


@dataclass(frozen=True)
class FileActions:
    open_image: QAction
    open_audio: QAction
    paste: QAction
    record: QAction
    save_recording: QAction
    export: QAction
    quit: QAction


def build_file_menu(
    menu: QMenu,
    parent: QWidget,
    *,
    open_image: Callable[[], object],
    open_audio: Callable[[], object],
    paste: Callable[[], object],
    record: Callable[[], object],
    save_recording: Callable[[], object],
    export: Callable[[], object],
    quit: Callable[[], object],
) -> FileActions:
    actions = FileActions(
        open_image=add_action(
            menu, parent, "Open &Image…", QKeySequence.StandardKey.Open, open_image
        ),
        open_audio=add_action(menu, parent, "Open &Audio…", "Ctrl+Shift+O", open_audio),
        paste=add_action(menu, parent, "&Paste", QKeySequence.StandardKey.Paste, paste),
        record=_after_separator(menu, parent, "&Record", "Ctrl+R", record),
        save_recording=add_action(menu, parent, "&Save Recording…", None, save_recording),
        export=_after_separator(menu, parent, "&Export Analysis…", "Ctrl+E", export),
        quit=_after_separator(menu, parent, "&Quit", QKeySequence.StandardKey.Quit, quit),
    )
    actions.quit.setMenuRole(QAction.MenuRole.QuitRole)
    # Nothing to export or save until there is a result or a recording.
    actions.export.setEnabled(False)
    actions.save_recording.setEnabled(False)
    return actions


def _after_separator(menu: QMenu, parent: QWidget, text: str, shortcut, slot) -> QAction:
    menu.addSeparator()
    return add_action(menu, parent, text, shortcut, slot)


def fill_examples_menu(
    menu: QMenu, examples: Sequence, problem: str, load: Callable[[object], object]
) -> None:
    menu.clear()
    if not examples:
        placeholder = menu.addAction(problem or "No examples")
        placeholder.setEnabled(False)
        return
    for example in examples:
        action = menu.addAction(example.name)
        # Choosing it may switch the model: the tip says so before it happens.
        model = getattr(example, "model", None)
        tip = f"On {model}: {example.note}" if model else example.note
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False, e=example: load(e))


def build_help_menu(menu: QMenu, parent: QWidget, about: Callable[[], object]) -> QAction:
    action = add_action(menu, parent, "&About mmstudio", None, about)
    action.setMenuRole(QAction.MenuRole.AboutRole)
    return action
