"""The training view: a comparison as it trains, read from its folder twice a second.

Top: what runs, a progress bar with an ETA over the whole comparison, Stop Run (the selected
runs) and Stop All. Left: the runs. Right: live curves of the training loss, the validation
accuracy, and the validation accuracy of one coalition of modalities (chosen in a list). Once
the comparison finishes, the comparison table takes the runs' place.

Stopping writes the STOP files the driver obeys; the view waits to hear from the folder what
happened (a stopped run keeps its best checkpoint and says "stopped").
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.training.comparison_table import ComparisonTable
from mmstudio.gui.training.curves import BAND_CI, BAND_RANGE, CurvePlot
from mmstudio.gui.training.runs_table import RunsTable
from mmstudio.studio_runs import LOSS, SUBSET_PREFIX, VAL_ACCURACY, ComparisonReader, request_stop
from mmstudio.studio_runs.launch import driver_log, log_tail
from mmstudio.studio_runs.summary import strategy_rows

POLL_MS = 500


class TrainingView(QWidget):
    """Signals: finished(ComparisonReader) once the driver is done (or gone); updated() after
    a poll that read something new. What the comparison table asks for (open a checkpoint,
    two side by side or on the test split) comes from ``view.table``'s signals."""

    finished = Signal(object)
    updated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingView")
        self.reader: ComparisonReader | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.title = QLabel("No comparison yet: Training ▸ New Training Run… (Ctrl+T)")
        self.title.setObjectName("trainingTitle")
        self.title.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("trainingProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.eta = QLabel("")
        self.eta.setObjectName("trainingEta")
        self.stop_run = QPushButton("Stop Run")
        self.stop_run.setToolTip(
            "The selected runs stop after their current step, keeping their best checkpoint"
        )
        self.stop_run.clicked.connect(lambda _checked=False: self.stop_selected())
        self.stop_all = QPushButton("Stop All")
        self.stop_all.setToolTip("The running run stops after its current step; no more start")
        self.stop_all.clicked.connect(lambda _checked=False: self.stop_everything())
        self.band_kind = QComboBox()
        # Min–max first: with two or three seeds the 95% interval of the mean is wide (t(0.975, 1)
        # = 12.7) and would hide the curves; it is one choice away.
        self.band_kind.addItems((BAND_RANGE, BAND_CI))
        self.band_kind.setToolTip(
            "The band around each strategy's mean over its seeds: their range, or the 95% "
            "confidence interval of the mean (Student's t)"
        )
        self.band_kind.currentTextChanged.connect(self._on_band_kind)
        self.coalition = QComboBox()
        self.coalition.setObjectName("trainingCoalition")
        self.coalition.setToolTip("The coalition of modalities the third plot shows")
        self.coalition.currentTextChanged.connect(self._on_coalition)
        self.runs = RunsTable()
        self.runs.itemSelectionChanged.connect(self._enable)
        self.table = ComparisonTable()
        self.loss = CurvePlot("trainingLoss", "Training loss", "loss", (0.0, None))
        self.accuracy = CurvePlot("trainingAccuracy", "Validation accuracy", "accuracy", (0.0, 1.0))
        self.subset = CurvePlot(
            "trainingSubset", "Validation accuracy of a coalition", "accuracy", (0.0, 1.0)
        )
        self.plots = (self.loss, self.accuracy, self.subset)
        self._build()
        self._enable()

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.progress, 1)
        top.addWidget(self.eta)
        top.addWidget(self.stop_run)
        top.addWidget(self.stop_all)
        # The comparison table comes in above the runs once they finish.
        self.left = QSplitter(Qt.Orientation.Vertical)
        self.left.addWidget(self.table)
        self.left.addWidget(self.runs)
        self.left.setChildrenCollapsible(False)
        self.table.hide()
        options = QHBoxLayout()
        options.addWidget(QLabel("Band:"))
        options.addWidget(self.band_kind)
        options.addStretch(1)
        options.addWidget(QLabel("Coalition:"))
        options.addWidget(self.coalition)
        plots = QSplitter(Qt.Orientation.Vertical)
        for plot in self.plots:
            plots.addWidget(plot)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(options)
        right_layout.addWidget(plots, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)

    # Watching a folder

    @property
    def watching(self) -> bool:
        """Following a comparison that has not finished (the timer stops when it does)."""
        return self.reader is not None and self.timer.isActive()

    def watch(self, folder: str | Path, pid: int | None = None) -> None:
        """Show the comparison in ``folder`` (``pid``: its driver, when this window started it)."""
        self.reader = ComparisonReader(folder, pid)
        for plot in self.plots:
            plot.metric = ""
            plot.clear_curves()
        self.coalition.clear()
        self.table.hide()
        self.runs.setRowCount(0)
        self.runs.run_ids = []
        self.title.setText(f"Starting the comparison in {folder}…")
        self.eta.setText("")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.timer.start()
        self.poll()

    def stop_watching(self) -> None:
        self.timer.stop()

    def poll(self) -> None:
        reader = self.reader
        if reader is None:
            return
        update = reader.poll()
        if update.finished:
            reader.poll()  # what the driver wrote between the last read and its exit
        if update.plan_loaded:
            self._show_plan()
        if update.changed:
            self._show_data()
        self._show_progress()
        if update.finished:
            self.timer.stop()
            self._show_finished()
            self.finished.emit(reader)
        if update.changed:
            self.updated.emit()

    def _show_plan(self) -> None:
        reader = self.reader
        plan = reader.plan or {}
        budget = plan.get("budget") or {}
        self.title.setText(
            f"<b>{', '.join(reader.fusions)}</b> × {len(plan.get('seeds') or [])} seeds, "
            f"{budget.get('epochs', '?')} epochs ({reader.steps_per_run} steps) each, on "
            f"{Path(str(plan.get('data', ''))).name} — {reader.folder}"
        )

    def _show_data(self) -> None:
        reader = self.reader
        known = [self.coalition.itemText(i) for i in range(self.coalition.count())]
        for name in reader.coalitions:
            if name not in known:
                self.coalition.addItem(name)
        self.loss.show(reader, LOSS)
        self.accuracy.show(reader, VAL_ACCURACY)
        if self.coalition.currentText():
            self.subset.show(reader, SUBSET_PREFIX + self.coalition.currentText())
        self.runs.show_runs(reader)
        self._enable()

    def _show_progress(self) -> None:
        progress = self.reader.progress()
        total = max(progress.total_steps, 1)
        if self.progress.maximum() != total:
            self.progress.setRange(0, total)
        self.progress.setValue(progress.done_steps)
        if progress.finished:
            self.eta.setText("finished")
        elif progress.eta_seconds is None:
            self.eta.setText("ETA —")
        else:
            self.eta.setText(f"ETA {_duration(progress.eta_seconds)}")

    def _show_finished(self) -> None:
        reader = self.reader
        self.runs.show_runs(reader)
        rows = strategy_rows(reader)
        self.table.show_rows(rows)
        self.table.setVisible(bool(rows))
        states = [status.state for status in reader.status.values()]
        if reader.plan is None or (states and all(s in ("failed", "pending") for s in states)):
            said = log_tail(driver_log(reader.folder))
            self.title.setText(f"The comparison failed in {reader.folder}.\n{said}")
        else:
            self.title.setText(f"{self.title.text()} — finished")
        self._enable()

    # Controls

    def stop_selected(self) -> None:
        if self.reader is None or self.reader.plan is None:
            return
        dirs = {run.id: run.dir for run in self.reader.runs}
        for run_id in self.runs.selected_runs():
            if not self.reader.status[run_id].final:
                request_stop(self.reader.folder, dirs[run_id])

    def stop_everything(self) -> None:
        if self.watching:
            request_stop(self.reader.folder)
            self.stop_all.setEnabled(False)
            self.stop_run.setEnabled(False)

    def _enable(self) -> None:
        watching = self.watching and not (self.reader.folder / "STOP").exists()
        self.stop_all.setEnabled(watching)
        self.stop_run.setEnabled(watching and bool(self.runs.selected_runs()))

    def _on_band_kind(self, kind: str) -> None:
        for plot in self.plots:
            plot.set_band_kind(kind, self.reader if self.reader and self.reader.plan else None)

    def _on_coalition(self, name: str) -> None:
        if name and self.reader is not None:
            self.subset.setTitle(f"Validation accuracy with {name}")
            self.subset.show(self.reader, SUBSET_PREFIX + name)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
