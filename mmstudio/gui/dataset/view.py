"""The Dataset view: the results table with its filters, the summary panel and the embedding
map, over a results folder that may still be growing.

The view is given a results folder (:meth:`DatasetView.open_results`) or a running job
(:meth:`DatasetView.attach`: a job with ``progressed``, ``finished`` and ``failed`` signals,
``cancel()`` and ``results``, such as :mod:`mmstudio.gui.dataset.service_job`).
Partial rows are shown as they arrive, at most once per ``REFRESH_MS``; clicking a row emits
``record_activated`` with that row, for the window to open the sample in the single-sample view;
its context menu emits ``swap_requested(row, modality)`` to swap one of its modalities into the
window's current sample. The follow-up checks of a finished analysis
(:meth:`DatasetView.attach_followups`, a job such as :mod:`mmstudio.gui.dataset.followup_job`)
use the same progress bar and Cancel button, and their sections join the summary shown and
exported.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio.datasets.export import write_table
from mmstudio.datasets.filters import RowFilter, confusion_rows
from mmstudio.datasets.store import ResultsStore
from mmstudio.datasets.summary import builder_for, write_summary
from mmstudio.gui.dataset.aggregates_panel import NOT_RUN
from mmstudio.gui.dataset.embedding_map import EmbeddingMap
from mmstudio.gui.dataset.summary_panel import SummaryPanel
from mmstudio.gui.dataset.table_model import ResultsTableModel

REFRESH_MS = 1000
STATUS_MS = 200
SUMMARY_REDRAW_S = 3.0
ALL = "all"
CORRECTNESS = {ALL: None, "right": True, "wrong": False}
# Shown only for rows of two models (``--compare``).
AGREEMENT = {"both models": None, "models agree": True, "models disagree": False}


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


class FilterBar(QWidget):
    """The controls that make a RowFilter; ``changed`` fires on any edit."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QComboBox()
        self.predicted = QComboBox()
        self.correct = QComboBox()
        self.correct.addItems(list(CORRECTNESS))
        self.agreement = QComboBox()
        self.agreement.setObjectName("agreement-filter")
        self.agreement.addItems(list(AGREEMENT))
        self.agreement.setVisible(False)
        self.low, self.high = QDoubleSpinBox(), QDoubleSpinBox()
        for box, value in ((self.low, 0.0), (self.high, 1.0)):
            box.setRange(0.0, 1.0)
            box.setSingleStep(0.05)
            box.setValue(value)
        self.modalities: dict[str, QCheckBox] = {}
        self.meta_column = QComboBox()
        self.meta_value = QComboBox()
        self.errors_only = QCheckBox("errors only")
        self.search = QLineEdit()
        self.search.setPlaceholderText("search id, text, error")
        # Two rows: on one, the bar alone would hold the window wider than a laptop screen.
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        layout, second = QHBoxLayout(), QHBoxLayout()
        rows.addLayout(layout)
        rows.addLayout(second)
        for caption, widget in (
            ("label", self.label),
            ("predicted", self.predicted),
            ("", self.correct),
            ("", self.agreement),
            ("confidence", self.low),
            ("to", self.high),
        ):
            if caption:
                layout.addWidget(QLabel(caption))
            layout.addWidget(widget)
        layout.addStretch(1)
        self._modality_layout = QHBoxLayout()
        second.addLayout(self._modality_layout)
        for widget in (self.meta_column, self.meta_value, self.errors_only, self.search):
            second.addWidget(widget)
        for combo in (self.label, self.predicted, self.correct, self.agreement, self.meta_value):
            combo.currentTextChanged.connect(lambda _: self.changed.emit())
        self.meta_column.currentTextChanged.connect(self._on_meta_column)
        for box in (self.low, self.high):
            box.valueChanged.connect(lambda _: self.changed.emit())
        self.errors_only.toggled.connect(lambda _: self.changed.emit())
        self.search.textChanged.connect(lambda _: self.changed.emit())
        self._table: pa.Table | None = None

    def set_choices(self, table: pa.Table, labels: list[str], modalities: list[str]) -> None:
        self._table = table
        self.agreement.setVisible("agree" in table.column_names)
        for combo in (self.label, self.predicted):
            if combo.count() != len(labels) + 1:
                current = combo.currentText()
                combo.blockSignals(True)
                combo.clear()
                combo.addItems([ALL, *labels])
                combo.setCurrentText(current or ALL)
                combo.blockSignals(False)
        for modality in modalities:
            if modality not in self.modalities:
                box = QCheckBox(f"has {modality}")
                box.toggled.connect(lambda _: self.changed.emit())
                self.modalities[modality] = box
                self._modality_layout.addWidget(box)
        metas = [
            name.removeprefix("meta_") for name in table.column_names if name.startswith("meta_")
        ]
        if self.meta_column.count() != len(metas) + 1:
            self.meta_column.blockSignals(True)
            self.meta_column.clear()
            self.meta_column.addItems(["metadata", *metas])
            self.meta_column.blockSignals(False)

    def _on_meta_column(self, column: str) -> None:
        self.meta_value.blockSignals(True)
        self.meta_value.clear()
        name = f"meta_{column}"
        if self._table is not None and name in self._table.column_names:
            values = self._table[name].unique().to_pylist()
            self.meta_value.addItems([ALL, *sorted(str(v) for v in values if v is not None)])
        self.meta_value.blockSignals(False)
        self.changed.emit()

    def _compares(self) -> bool:
        return self._table is not None and "agree" in self._table.column_names

    def row_filter(self, rows: np.ndarray | None = None) -> RowFilter:
        def chosen(combo: QComboBox) -> frozenset[str]:
            text = combo.currentText()
            return frozenset() if text in ("", ALL) else frozenset([text])

        meta = {}
        column, value = self.meta_column.currentText(), self.meta_value.currentText()
        if column and column != "metadata" and value not in ("", ALL) and self._table is not None:
            kind = self._table.schema.field(f"meta_{column}").type
            meta[column] = frozenset([pa.scalar(value).cast(kind).as_py()])
        return RowFilter(
            labels=chosen(self.label),
            predicted=chosen(self.predicted),
            correct=CORRECTNESS.get(self.correct.currentText()),
            agree=AGREEMENT.get(self.agreement.currentText()) if self._compares() else None,
            confidence=(self.low.value(), self.high.value()),
            modalities=frozenset(m for m, box in self.modalities.items() if box.isChecked()),
            meta=meta,
            errors_only=self.errors_only.isChecked(),
            text=self.search.text().strip(),
            rows=rows,
        )


class DatasetView(QWidget):
    record_activated = Signal(dict)
    swap_requested = Signal(dict, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("dataset-view")
        self.store: ResultsStore | None = None
        self.table = pa.table({})
        self.summary: dict | None = None
        self.job = None
        self.followup_job = None
        self.followups: dict = {}  # the follow-up checks' summary sections, once they ran
        self._pending: list[pa.Table] = []
        self._pending_summary: dict | None = None  # the job's own, built off this thread
        self._summaries_from_job = False
        self._drawn_summary: dict | None = None
        self._summary_drawn_at = -SUMMARY_REDRAW_S
        self._builder = None  # the summary builder of the rows shown (builder_for)
        self._selection: np.ndarray | None = None
        self._selection_name = ""

        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m records")
        self.progress.setMinimumWidth(200)  # room for "100,000 / 100,000 records"
        self.progress.setVisible(False)  # until a running job is attached
        self.status = QLabel("Open a results folder or start an analysis")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.filters = FilterBar()
        self.selection_label = QLabel()
        self.clear_selection = QPushButton("Show all rows")
        self.clear_selection.setVisible(False)
        self.model = ResultsTableModel(self)
        self.view = QTableView()
        self.view.setObjectName("results-table")
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.summary_panel = SummaryPanel()
        self.embedding_map = EmbeddingMap()
        self.update_map = QPushButton("Update map")
        tabs = QTabWidget()
        # The summary grows downwards (interactions, checks, a comparison): it scrolls rather
        # than squeezing every plot into the tab.
        summary_page = QScrollArea()
        summary_page.setWidgetResizable(True)
        summary_page.setWidget(self.summary_panel)
        tabs.addTab(summary_page, "Summary")
        map_page = QWidget()
        map_layout = QVBoxLayout(map_page)
        map_layout.addWidget(self.embedding_map)
        map_layout.addWidget(self.update_map, alignment=Qt.AlignmentFlag.AlignRight)
        tabs.addTab(map_page, "Embedding map")
        self.tabs = tabs

        top = QHBoxLayout()
        top.addWidget(self.progress)
        top.addWidget(self.status, 1)
        top.addWidget(self.cancel_button)
        selection = QHBoxLayout()
        selection.addWidget(self.selection_label)
        selection.addWidget(self.clear_selection)
        selection.addStretch(1)
        table_side = QWidget()
        table_layout = QVBoxLayout(table_side)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.filters)
        table_layout.addLayout(selection)
        table_layout.addWidget(self.view)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(table_side)
        splitter.addWidget(tabs)
        splitter.setSizes([440, 520])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self._apply_pending)
        # The bar and the rate a few times a second, not once per batch: a progress bar
        # repaints itself at once on every new value.
        self._latest_progress = None
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(STATUS_MS)
        self._status_timer.timeout.connect(self._show_progress)
        self.filters.changed.connect(self._apply_filter)
        self.summary_panel.confusion_cell_clicked.connect(self._on_confusion_cell)
        self.embedding_map.selection_changed.connect(self._on_map_selection)
        self.clear_selection.clicked.connect(lambda: self._select(None, ""))
        self.view.clicked.connect(
            lambda index: self.record_activated.emit(self.model.record(index.row()))
        )
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_context_menu)
        self.cancel_button.clicked.connect(self._on_cancel)
        self.update_map.clicked.connect(lambda: self.embedding_map.set_table(self.table))

    def swap_menu(self, view_row: int) -> QMenu:
        """The row's context menu: swap one of its modalities into the current sample."""
        record = self.model.record(view_row)
        menu = QMenu(self)
        menu.setObjectName("swapRecordMenu")
        has = {
            "image": bool(record.get("image_path")),
            "text": bool((record.get("text") or "").strip()),
            "audio": bool(record.get("audio_path")),
        }
        for modality, present in has.items():
            action = menu.addAction(f"Swap this record's {modality} into the current sample")
            # A record without this modality has nothing to give: shown, but not offered.
            action.setEnabled(present)
            if not present:
                action.setToolTip(f"this record has no {modality}")
            action.triggered.connect(
                lambda _checked=False, m=modality: self.swap_requested.emit(record, m)
            )
        return menu

    def _on_context_menu(self, position) -> None:
        index = self.view.indexAt(position)
        if index.isValid():
            menu = self.swap_menu(index.row())
            menu.aboutToHide.connect(menu.deleteLater)  # one menu per right click, not kept
            menu.popup(self.view.viewport().mapToGlobal(position))

    # ---------------------------------------------------------------- sources
    def open_results(self, path: str | Path) -> None:
        """Show a results folder (finished or partial) as it is on disk now."""
        self.store = ResultsStore(path)
        self._reset_followups()
        table = self.store.read()
        self._show(table if table is not None else pa.table({}))
        self.embedding_map.set_table(self.table)
        self.status.setText(f"{self.table.num_rows:,} rows from {self.store.path.name}")

    def attach(self, job) -> None:
        """Follow a running job: its rows appear as they come; Cancel stops it."""
        self.job = job
        self._summaries_from_job = False
        self._reset_followups()
        self.store = ResultsStore(job.results)
        existing = self.store.read()
        self._show(existing if existing is not None else pa.table({}))
        job.progressed.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        self.progress.setFormat("%v / %m records")
        self.progress.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.status.setText("Starting…")

    def _reset_followups(self) -> None:
        self.followups = {}
        self.followup_job = None  # a late signal of an earlier dataset's checks is ignored
        self.summary_panel.aggregates.followups.status.setText(NOT_RUN)

    def attach_followups(self, job) -> None:
        """Follow the swap test and faithfulness run; their sections join the summary."""
        self.followup_job = job

        def mine(handler):
            return lambda *args: handler(*args) if job is self.followup_job else None

        job.progressed.connect(mine(self._on_followup_progress))
        job.finished.connect(mine(self._on_followups_finished))
        job.cancelled.connect(mine(lambda: self._followups_ended("cancelled")))
        job.failed.connect(mine(lambda message: self._followups_ended(f"failed: {message}")))
        self.cancel_button.setEnabled(True)
        self._followup_status("waiting…")

    def _followup_status(self, text: str) -> None:
        self.summary_panel.aggregates.followups.status.setText(
            f"Swap test and faithfulness: {text}"
        )

    def _on_followup_progress(self, progress) -> None:
        self.progress.setFormat(f"{progress.stage} %v / %m")
        self.progress.setMaximum(max(progress.total, 1))
        self.progress.setValue(progress.done)
        self._followup_status(f"running the {progress.stage}, {progress.done} / {progress.total}")

    def _on_followups_finished(self, sections: dict) -> None:
        self.followups = dict(sections or {})
        if self.summary is not None:  # a new dict: the job's own summary stays as it was
            self.summary = {**self.summary, **self.followups}
            self._draw_summary()
        seeds = sorted({s["seed"] for s in self.followups.values() if "seed" in s})
        self._followups_ended(f"done (seed {', '.join(map(str, seeds))})")

    def _followups_ended(self, how: str) -> None:
        self.followup_job = None
        self.cancel_button.setEnabled(self.job is not None)
        self.progress.setFormat("%v / %m records")
        self.progress.setMaximum(max(self.table.num_rows, 1))  # the dataset's count again
        self.progress.setValue(self.table.num_rows)
        self._followup_status(how)

    def _on_progress(self, progress) -> None:
        self._latest_progress = progress
        if not self._status_timer.isActive():
            self._status_timer.start()
        if progress.summary is not None:
            self._pending_summary = progress.summary
            self._summaries_from_job = True
        if progress.rows is not None:
            self._pending.append(progress.rows)
            if not self._refresh_timer.isActive():
                self._refresh_timer.start()

    def _show_progress(self) -> None:
        progress, self._latest_progress = self._latest_progress, None
        if progress is None:
            return
        self.progress.setMaximum(progress.total)
        self.progress.setValue(progress.done)
        self.status.setText(
            f"{progress.rate:.0f} records/s · {progress.errors} unreadable · "
            f"{_eta(progress.eta_seconds)} left"
        )

    def _on_finished(self, progress) -> None:
        self._status_timer.stop()
        self._show_progress()
        self._refresh_timer.stop()
        self._apply_pending()
        self._draw_summary()
        self.embedding_map.set_table(self.table)
        self.cancel_button.setEnabled(False)
        done = "finished" if progress is not None and progress.finished else "stopped"
        self.status.setText(f"Analysis {done}: {self.table.num_rows:,} rows")
        self.job = None

    def _on_failed(self, message: str) -> None:
        self.cancel_button.setEnabled(False)
        self.status.setText(f"Analysis failed: {message}")
        self.job = None

    def _on_cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Stopping after this batch…")
        elif self.followup_job is not None:
            self.followup_job.cancel()
            self.cancel_button.setEnabled(False)

    def _apply_pending(self) -> None:
        summary, self._pending_summary = self._pending_summary, None
        if not self._pending:
            if summary is not None and self.table.num_columns:
                self._show(self.table, summary=summary, extends=True)  # the last step: no rows
            return
        # One chunk per refresh, not per batch, so cell lookups stay quick on long runs.
        new = pa.concat_tables(self._pending).combine_chunks()
        self._pending = []
        table = new if self.table.num_rows == 0 else pa.concat_tables([self.table, new])
        extends = self.table.num_rows > 0
        if summary is None and self._summaries_from_job:
            summary = self.summary  # until the job's next one: never built here
        if summary is not None:
            self._builder = None  # the job keeps the summary; a later fallback rebuilds
            self._show(table, summary=summary, extends=extends)
        elif not extends or self._builder is None:
            self._show(table, extends=extends)
        else:
            self._builder.add(new)  # the summary accumulates: only the new rows are read
            self._show(table, rebuild_summary=False, extends=True)

    # ---------------------------------------------------------------- showing
    def _show(
        self,
        table: pa.Table,
        *,
        rebuild_summary: bool = True,
        summary: dict | None = None,
        extends: bool = False,
    ) -> None:
        """Show ``table`` (with ``extends``: the shown one with rows appended)."""
        self.table = table
        if table.num_columns == 0:
            return
        if summary is None:
            if rebuild_summary or self._builder is None:
                self._builder = builder_for(table.schema)
                self._builder.add(table)
            summary = self._builder.result()
        if self.followups:  # the checks' sections, which no row summary has
            summary = {**summary, **self.followups}
        changed, self.summary = summary is not self.summary, summary
        self.filters.set_choices(table, self.summary["labels"], self.summary["modalities"])
        self.model.row_filter = self.filters.row_filter(self._selection)
        if extends:
            self.model.extend_table(table)
        else:
            self.model.set_table(table)
        if changed:
            self._summary_due()
        self.progress.setMaximum(max(self.progress.maximum(), table.num_rows))

    def _summary_due(self) -> None:
        # Redrawing the plots is most of a refresh's cost: while a run goes on they follow
        # every few seconds, the table every second.
        running = self.job is not None
        if not running or time.monotonic() - self._summary_drawn_at >= SUMMARY_REDRAW_S:
            self._draw_summary()

    def _draw_summary(self) -> None:
        if self.summary is not None and self._drawn_summary is not self.summary:
            self._drawn_summary, self._summary_drawn_at = self.summary, time.monotonic()
            self.summary_panel.show_summary(self.summary)

    def _apply_filter(self) -> None:
        self.model.set_filter(self.filters.row_filter(self._selection))

    def _select(self, rows: np.ndarray | None, name: str) -> None:
        self._selection, self._selection_name = rows, name
        self.selection_label.setText(f"{name}: {len(rows):,} rows" if rows is not None else "")
        self.clear_selection.setVisible(rows is not None)
        self._apply_filter()

    def _on_confusion_cell(self, label: str, predicted: str) -> None:
        self._select(
            confusion_rows(self.table, label, predicted), f"label {label} → predicted {predicted}"
        )

    def _on_map_selection(self, rows: np.ndarray | None) -> None:
        self._select(rows, "embedding-map selection")

    # ---------------------------------------------------------------- export
    def export_table(self, path: str | Path) -> Path:
        """The rows shown (filtered and sorted) as .csv or .parquet."""
        return write_table(self.model.visible_table(), path)

    def export_summary(self, path: str | Path) -> Path:
        """The summary as .json, or the summary panel as a .png picture."""
        path = Path(path)
        if path.suffix.lower() == ".png":
            if not self.summary_panel.grab().save(str(path)):
                from mmstudio.inputs.errors import InputError

                raise InputError("cannot write the picture", path)
            return path
        if self.summary is None:
            path.write_text(json.dumps({}), encoding="utf-8")
            return path
        return write_summary(self.summary, path)
