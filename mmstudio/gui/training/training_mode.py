"""The training studio inside the window: the Training menu, the training view as a page beside
the single-sample results (like the Dataset view), the comparison's driver started in its own
process, and what happens to it when the window closes and opens again.

Closing the window while a comparison trains asks whether to stop it or keep it training in the
background. The driver runs detached either way, so keeping it costs nothing; the settings
remember its folder (training/active) and the next window reattaches to it while driver.json's
process still runs.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
    QWidget,
)

from mmstudio.gui.common.actions import add_action
from mmstudio.gui.training.prefs import (
    read_active,
    read_training_settings,
    write_active,
    write_training_settings,
)
from mmstudio.inputs.errors import InputError
from mmstudio.studio_runs import ComparisonReader, TrainingSettings, pid_alive, request_stop


class CloseChoice(Enum):
    STOP = "stop"
    KEEP = "keep"
    CANCEL = "cancel"


class TrainingMode(QObject):
    """Signals: shown_changed(bool); started(str) — a comparison folder, once its driver runs;
    open_requested(str) — a checkpoint folder to open in the studio; side_by_side_requested(
    str, str) — two checkpoints, the second to compare with; dataset_requested(str, str, str) —
    two checkpoints and the test-split folder to compare them on."""

    shown_changed = Signal(bool)
    started = Signal(str)
    open_requested = Signal(str)
    side_by_side_requested = Signal(str, str)
    dataset_requested = Signal(str, str, str)

    def __init__(
        self,
        window: QWidget,
        stack: QStackedWidget,
        results: QWidget,
        store: QSettings,
        report: Callable[[str], None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self.stack = stack
        self.results = results
        self.store = store
        self.report = report
        self.settings = read_training_settings(store)
        self.active = ""  # the folder of the comparison this window started or reattached to
        self._view = None

    # The page

    @property
    def built(self) -> bool:
        return self._view is not None

    @property
    def view(self):
        """The TrainingView, built on first use (pyqtgraph is not needed to show the window)."""
        if self._view is None:
            from mmstudio.gui.training.view import TrainingView

            view = TrainingView(self.stack)
            view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            view.finished.connect(self._on_finished)
            view.table.open_requested.connect(self.open_requested)
            view.table.side_by_side_requested.connect(self.side_by_side_requested)
            view.table.dataset_requested.connect(self._on_dataset_requested)
            self.stack.addWidget(view)
            self.stack.currentChanged.connect(lambda _index: self._on_page_changed())
            self._view = view
        return self._view

    @property
    def shown(self) -> bool:
        return self._view is not None and self.stack.currentWidget() is self._view

    def set_shown(self, shown: bool) -> None:
        if shown == self.shown:
            return
        page = self.view if shown else self.results
        for index in range(self.stack.count()):
            other = self.stack.widget(index)
            if other is not page:
                # A stacked widget is as wide as its widest page: hidden pages must not hold it.
                other.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        page.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.stack.setCurrentWidget(page)

    def _on_page_changed(self) -> None:
        self.shown_changed.emit(self.shown)

    @property
    def running(self) -> bool:
        return self._view is not None and self._view.watching

    # Starting, watching

    def new_run_dialog(self) -> TrainingSettings | None:
        from mmstudio.gui.training.dialog import NewTrainingDialog

        dialog = NewTrainingDialog(self.settings, self.window)
        self.dialog = dialog  # reachable while it is open (tests fill it like a person)
        try:
            if dialog.exec() != NewTrainingDialog.DialogCode.Accepted:
                return None
        finally:
            self.dialog = None
        settings = dialog.chosen()
        self.start(settings)
        return settings

    def start(self, settings: TrainingSettings) -> bool:
        """Start a comparison (the settings checked again: the folder may have changed)."""
        from mmstudio.gui.training.process import start_driver

        if self.running:
            self.report(
                "a comparison is training already: stop it first (Training ▸ Stop All Runs)"
            )
            return False
        try:
            settings.check()
            pid = start_driver(settings)
        except InputError as error:
            self.report(f"the training could not start: {error}")
            return False
        self.settings = settings
        remembered = TrainingSettings(**{**vars(settings), "out": "", "resume": False})
        write_training_settings(self.store, remembered)
        self.watch(settings.out, pid)
        self.started.emit(str(Path(settings.out).resolve()))
        return True

    def watch(self, folder: str | Path, pid: int | None = None) -> None:
        self.active = str(Path(folder).resolve())
        write_active(self.store, self.active, pid)
        self.view.watch(self.active, pid)
        self.set_shown(True)

    def open_comparison_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.window, "Open Comparison", str(Path(self.settings.data or Path.home()).parent)
        )
        if folder:
            self.open_comparison(folder)

    def open_comparison(self, folder: str | Path) -> None:
        """Show a comparison folder, running or finished."""
        if not (Path(folder) / "plan.json").is_file():
            self.report(f"{folder} is not a comparison folder (it has no plan.json)")
            return
        if self.running:
            self.view.stop_watching()
        self.view.watch(folder)
        self.set_shown(True)

    def reattach(self) -> bool:
        """At start: reopen the comparison a closed window left training, if it still runs."""
        folder, started = read_active(self.store)
        if not folder:
            return False
        reader = ComparisonReader(folder, started)
        reader.poll()
        pid = reader.driver_pid
        if pid is None or reader.finished or not pid_alive(pid):
            write_active(self.store, "")
            return False
        self.watch(folder, pid)
        self.window.statusBar().showMessage(f"Reattached to the comparison in {folder}", 8000)
        return True

    def stop_all(self) -> None:
        if self.running:
            self.view.stop_everything()

    def _on_finished(self, reader) -> None:
        if str(reader.folder) == self.active:
            self.active = ""
            write_active(self.store, "")
        self.window.statusBar().showMessage(f"The comparison in {reader.folder} finished", 8000)

    def _on_dataset_requested(self, first: str, second: str) -> None:
        """The test split as the first strategy's run split it, written beside the runs."""
        from mmstudio.studio_runs.test_split import write_test_split

        reader = self.view.reader
        run_dir = Path(first).parent.name
        seed = next((run.seed for run in reader.runs if run.dir == run_dir), 0)
        try:
            folder = write_test_split(reader.plan["data"], seed, reader.folder)
        except (InputError, OSError, KeyError) as error:
            self.report(f"the test split could not be prepared: {error}")
            return
        self.dataset_requested.emit(first, second, str(folder))

    # Closing

    def ask_about_close(self) -> CloseChoice:
        box = QMessageBox(self.window)
        box.setWindowTitle("Training in Progress")
        box.setText("A comparison is training. Stop it, or keep it training in the background?")
        box.setInformativeText("A window opened later shows it again while it trains.")
        stop = box.addButton("Stop Training", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep Training", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        clicked = box.clickedButton()
        if clicked is stop:
            return CloseChoice.STOP
        if clicked is keep:
            return CloseChoice.KEEP
        return CloseChoice.CANCEL

    def may_close(self) -> bool:
        """Asked by the window's closeEvent: False keeps the window open."""
        if not self.running:
            return True
        choice = self.ask_about_close()
        if choice is CloseChoice.CANCEL:
            return False
        self.view.stop_watching()
        if choice is CloseChoice.STOP:
            request_stop(self.view.reader.folder)
            write_active(self.store, "")
        return True


def build_training_menu(menu: QMenu, window: QWidget, mode: TrainingMode) -> dict[str, QAction]:
    actions = {
        "new": add_action(menu, window, "&New Training Run…", "Ctrl+T", mode.new_run_dialog),
        "open": add_action(menu, window, "&Open Comparison…", None, mode.open_comparison_dialog),
    }
    show = QAction("&Training View", window)
    show.setCheckable(True)
    show.setShortcut(QKeySequence("Ctrl+Shift+T"))
    show.toggled.connect(mode.set_shown)
    menu.addAction(show)
    mode.shown_changed.connect(show.setChecked)
    actions["show"] = show
    menu.addSeparator()
    actions["stop"] = add_action(menu, window, "&Stop All Runs", None, mode.stop_all)
    menu.aboutToShow.connect(lambda: actions["stop"].setEnabled(mode.running))
    return actions
