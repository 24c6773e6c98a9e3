"""The side-by-side panel's place in the window: a closable dock beside the results (Ctrl+B).

The panel's plots are built the first time the dock is shown, not with the window: most
sessions never compare, and a dozen pyqtgraph views cost a noticeable part of a second.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow

SHORTCUT = "Ctrl+B"


class SideBySideDock(QDockWidget):
    def __init__(self, window: QMainWindow, results) -> None:
        """``results``: the window's ResultsPanel, whose heatmap colormap and opacity the
        panel's heatmaps follow."""
        super().__init__("Side by Side", window)
        self.setObjectName("sideBySideDock")  # saveState() remembers where the user put it
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self._window = window
        self._results = results
        self._panel = None
        self._sized = False
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self)
        self.hide()
        self.toggle_action = self.toggleViewAction()
        self.toggle_action.setText("&Side by Side")
        self.toggle_action.setShortcut(QKeySequence(SHORTCUT))
        self.toggle_action.setStatusTip("Show or hide the side-by-side comparison")
        self.visibilityChanged.connect(self._on_visibility_changed)

    @property
    def panel(self):
        """The SideBySidePanel, built now if it was not yet."""
        if self._panel is None:
            from mmstudio.gui.compare.side_by_side import SideBySidePanel

            self._panel = SideBySidePanel(self)
            self.setWidget(self._panel)
        # Kept in step here rather than by signals: the panel is drawn only after this call.
        self._panel.set_style(self._results.colormap, self._results.opacity)
        return self._panel

    @property
    def built(self) -> bool:
        return self._panel is not None

    def present(self) -> None:
        """Show the dock (if the user closed it) with what it was just given."""
        self.show()
        self.raise_()

    def _on_visibility_changed(self, visible: bool) -> None:
        if not visible:
            return
        self.panel  # noqa: B018 - a dock restored open by the saved layout needs its content
        if not self._sized and not self.isFloating():
            self._sized = True
            # Two columns of plots need room: about half the window, the first time it opens.
            self._window.resizeDocks(
                [self], [self._window.width() * 2 // 5], Qt.Orientation.Horizontal
            )
