"""Model ▸ Compare With: a second model that analyses every sample the window's model does,
shown side by side with it (predictions, Shapley values, interactions and heatmaps).

The second model lives in the analysis thread (:class:`SecondModel`): loaded once, on the
window model's device, by the first comparison that needs it, and kept until the choice
changes. Each comparison is a job of the service ahead of any batch job: load (when needed)
as one step, analyse as the next, so an interactive request never waits for both. The
window's own result comes from its own request; only the second model's analysis is extra.
The choice is remembered in the settings (``compare_model``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from mmstudio.gui.common.settings import StudioSettings
from mmstudio.gui.common.unavailable import unavailable_label
from mmstudio.gui.compare.side_by_side_dock import SideBySideDock
from mmstudio.gui.service.job_calls import JobCalls, one_step
from mmstudio.gui.service.second_model import SecondModel
from mmstudio.inputs import Sample
from mmstudio.models.registry import short_name
from mmstudio.result import Analysis

UNAFFECTED = "The window's own model is unaffected."


class CompareActions(QObject):
    """Signals: compared(ModelComparison) once the panel was given both models' analyses."""

    compared = Signal(object)

    def __init__(
        self,
        model_menu: QMenu,
        before: QAction,
        window: QWidget,
        calls: JobCalls,
        dock: SideBySideDock,
        prefs: StudioSettings,
        store: QSettings,
        report: Callable[[str], None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self.calls = calls
        self.dock = dock
        self.prefs = prefs
        self.store = store
        self.report = report
        self.second = SecondModel()  # touched only by jobs, in the analysis thread
        self.spec = prefs.compare_model
        self._job: int | None = None
        self._last: tuple[Analysis, Sample, str, str] | None = None
        self._reported = False
        self._presented = False
        self.menu = QMenu("Compare &With", window)
        model_menu.insertMenu(before, self.menu)
        self.group = QActionGroup(self)
        self._placeholder = self.menu.addAction("Looking for models…")
        self._placeholder.setEnabled(False)
        self._separator = self.menu.addSeparator()
        self.folder_action = self.menu.addAction("Other &Folder…")
        self.folder_action.triggered.connect(lambda _checked=False: self.open_folder_dialog())
        self.stop_action = self.menu.addAction("&Stop Comparing")
        self.stop_action.triggered.connect(lambda _checked=False: self.stop())
        self.stop_action.setEnabled(bool(self.spec))

    # The menu

    def list_models(self, entries) -> None:
        for entry in entries:
            label = entry.name if entry.available else f"{entry.name}  ({unavailable_label(entry)})"
            action = QAction(label, self)
            action.setCheckable(True)
            action.setData(entry.name)
            action.setStatusTip(entry.description if entry.available else entry.problem)
            action.triggered.connect(lambda _checked=False, name=entry.name: self.choose(name))
            self.group.addAction(action)
            self.menu.insertAction(self._separator, action)
        self._placeholder.setVisible(not entries)
        self._placeholder.setText("No registered models")
        self._show_choice()

    def _show_choice(self) -> None:
        for action in self.group.actions():
            action.setChecked(action.data() == self.spec)
        self.stop_action.setEnabled(bool(self.spec))

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.window, "Compare With Model Folder", self.prefs.model_folder
        )
        if folder:
            self.choose(folder)

    # The choice

    def choose(self, spec: str) -> None:
        """Compare every analysis with ``spec`` (a registered name or a folder) from now on."""
        self.spec = str(spec)
        self.prefs.compare_model = self.spec
        self.prefs.write(self.store)
        self._reported = False
        self._presented = False
        self._show_choice()
        self.dock.panel.show_message(f"Comparing with {short_name(self.spec)}…", "models")
        self.dock.present()
        self._presented = True
        if self._last is not None:
            self._compare(*self._last)

    def stop(self) -> None:
        self.spec = ""
        self.prefs.compare_model = ""
        self.prefs.write(self.store)
        self.calls.cancel(self._job)
        self._job = None
        self._show_choice()
        second = self.second
        # Its memory goes back now, in the thread that owns it.
        self.calls.submit(
            one_step(lambda _analyzer: second.release()), "comparison", _ignore, _ignore
        )
        if self.dock.built and self.dock.panel.kind == "models":
            self.dock.panel.show_message("Not comparing models.", "models")

    # Every analysis of the window

    def on_result(self, analysis: Analysis, sample: Sample, name: str, source: str) -> None:
        """The window's model analysed ``sample``: have the second model analyse it too."""
        self._last = (analysis, sample, name, source)
        if self.spec:
            self._compare(analysis, sample, name, source)

    def _compare(self, first: Analysis, sample: Sample, name: str, source: str) -> None:
        self.calls.cancel(self._job)  # a newer sample makes the waiting comparison moot
        spec, second = self.spec, self.second

        def steps(analyzer) -> Iterator[str]:
            if not second.holds(spec, analyzer.device):
                second.get(spec, analyzer.device)  # may raise; the job then fails with why
                yield "loaded"
            other = second.get(spec, analyzer.device)
            return other.model_name, other.analyze(sample)

        self._job = self.calls.submit(
            steps,
            "comparison",
            lambda value: self._on_compared(spec, first, sample, name, source, *value),
            lambda message: self._on_failed(spec, message),
        )

    def _on_compared(self, spec, first, sample, name, source, other_name, other) -> None:
        # Here, not at the top: mmstudio.explain imports torch, which the worker has by now.
        from mmstudio.explain.model_comparison import ModelComparison
        from mmstudio.gui.compare.side_by_side import Side

        if spec != self.spec:
            return  # the choice changed while it ran
        self._job = None
        self._reported = False
        if other_name == name:  # two checkpoints of one architecture: tell them apart
            name, other_name = (
                f"{name} ({short_name(source)})",
                f"{other_name} ({short_name(spec)})",
            )
        comparison = ModelComparison(name, first, other_name, other)
        self.dock.panel.show_pair(
            "models",
            comparison.verdict(),
            Side(name, first, sample),
            Side(other_name, other, sample),
            # A disagreement's verdict already gives both predictions with their confidence.
            detail=""
            if not comparison.agree
            else f"{name}: {_facts(first)} · {other_name}: {_facts(other)}",
        )
        if not self._presented:
            self._presented = True
            self.dock.present()
        self.compared.emit(comparison)

    def _on_failed(self, spec: str, message: str) -> None:
        if spec != self.spec:
            return
        self._job = None
        self.dock.panel.show_message(f"{message[:1].upper()}{message[1:]}. {UNAFFECTED}", "models")
        if not self._reported:  # once per choice, not on every analysis
            self._reported = True
            self.report(f"{message}. {UNAFFECTED}")


def _facts(analysis: Analysis) -> str:
    return f"{analysis.predicted_label} ({analysis.confidence:.0%})"


def _ignore(_value) -> None:
    """A job whose outcome nobody waits for (releasing the second model)."""
