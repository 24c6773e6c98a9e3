"""Live mode inside the window: the Live page is built on first use (pyqtgraph's video view and
Qt Multimedia are not needed to show the window) and runs on the window's analysis service, so
live mode analyses with the model the window has loaded: one copy in memory, one thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QSizePolicy, QStackedWidget, QWidget

from mmstudio.gui.service import AnalysisService


class LiveMode(QObject):
    """Signals: snapshot(Sample) — the frozen frame, audio window and text to analyse."""

    snapshot = Signal(object)

    def __init__(
        self,
        stack: QStackedWidget,
        results: QWidget,
        service: AnalysisService,
        text_getter: Callable[[], str | None],
        actions: tuple[QAction, QAction],
    ) -> None:
        super().__init__(stack)
        self.stack = stack
        self.results = results
        self.service = service
        self.text_getter = text_getter
        self.live_action, self.snapshot_action = actions
        # A generative model's decoding options (the Generation menu's), read at each answer.
        self.generation_options: Callable[[], object] | None = None
        self._panel = None
        self.live_action.toggled.connect(self._on_toggled)

    @property
    def built(self) -> bool:
        return self._panel is not None

    @property
    def panel(self):
        """The LivePanel, built now if it was not yet."""
        if self._panel is None:
            from mmstudio.gui.live import LivePanel

            panel = LivePanel(
                self.text_getter,
                None,
                parent=self.stack,
                service=self.service,
                actions=(self.live_action, self.snapshot_action),
                generation_options=self._generation_options,
            )
            panel.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            panel.snapshot.connect(self.snapshot)
            panel.running_changed.connect(self._on_running_changed)
            self.stack.addWidget(panel)
            self._panel = panel
        return self._panel

    def _generation_options(self):
        return self.generation_options() if self.generation_options is not None else None

    @property
    def running(self) -> bool:
        return self._panel is not None and self._panel.session.running

    def shutdown(self) -> None:
        if self._panel is not None:
            self._panel.shutdown()

    def _on_toggled(self, on: bool) -> None:
        first_use = self._panel is None
        panel = self.panel
        if first_use and on:
            panel.session.set_running(True)  # the panel connected to the toggle after it came

    def _on_running_changed(self, running: bool) -> None:
        shown, hidden = (self.panel, self.results) if running else (self.results, self.panel)
        # A stacked widget is as wide as its widest page; an ignored hidden page lets the
        # window stay narrow (1024 px) whichever page is showing.
        hidden.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        shown.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.stack.setCurrentWidget(shown)
