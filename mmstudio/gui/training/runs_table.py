"""The runs of a comparison, one row each: strategy, seed, state, steps, best validation
accuracy and the driver's message; the selected rows are what Stop Run stops."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from mmstudio.studio_runs import ComparisonReader
from mmstudio.studio_runs.summary import best_validation

COLUMNS = ("Run", "State", "Step", "Best val.", "Message")
STATE_MARKS = {
    "running": "▶ running",
    "done": "✓ done",
    "stopped": "■ stopped",
    "failed": "✗ failed",
}


class RunsTable(QTableWidget):
    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setObjectName("trainingRuns")
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.run_ids: list[str] = []

    def show_runs(self, reader: ComparisonReader) -> None:
        if [run.id for run in reader.runs] != self.run_ids:
            self.run_ids = [run.id for run in reader.runs]
            self.setRowCount(len(self.run_ids))
        for row, run in enumerate(reader.runs):
            status = reader.status[run.id]
            best = best_validation(reader, run)
            total = status.total_steps or reader.steps_per_run
            cells = (
                run.id,
                STATE_MARKS.get(status.state, status.state),
                f"{status.step}/{total}" if total else str(status.step),
                "–" if best is None else f"{100 * best:.1f}%",
                status.message,
            )
            for column, text in enumerate(cells):
                item = self.item(row, column)
                if item is None:
                    self.setItem(row, column, QTableWidgetItem(text))
                elif item.text() != text:
                    item.setText(text)
                if column == len(cells) - 1:
                    self.item(row, column).setToolTip(text)

    def selected_runs(self) -> list[str]:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [self.run_ids[row] for row in rows if row < len(self.run_ids)]
