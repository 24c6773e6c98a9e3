"""Live mode's two actions, made before live mode itself: the window puts them in its Live menu
at start-up, and builds the live panel (camera, plots, Qt Multimedia) only when one is used."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence


def make_live_actions(parent: QObject) -> tuple[QAction, QAction]:
    live = QAction("&Live", parent)
    live.setCheckable(True)
    live.setShortcut(QKeySequence(Qt.Key.Key_F5))
    live.setToolTip(
        "Stream the camera and microphone through the model; a generative model answers the "
        "typed question about them (F5)"
    )
    snapshot = QAction("&Snapshot", parent)
    snapshot.setShortcut(QKeySequence(Qt.Key.Key_Space))
    snapshot.setToolTip("Freeze this frame and audio window for inspection and export (Space)")
    # Space would be stolen from every button and text box if the shortcut were live while
    # live mode is off; it is enabled only while streaming, so typing stays untouched.
    snapshot.setEnabled(False)
    return live, snapshot
