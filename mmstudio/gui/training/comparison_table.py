"""The comparison table shown once the runs finish: a row per strategy. A click on a strategy
opens its best seed's checkpoint in the studio; two selected strategies open side by side
(Model ▸ Compare With) or as a dataset comparison on the test split."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmstudio.studio_runs.summary import StrategyRow


class ComparisonTable(QWidget):
    """Signals: open_requested(str) — a checkpoint folder; side_by_side_requested(str, str) and
    dataset_requested(str, str) — the two selected strategies' checkpoint folders."""

    open_requested = Signal(str)
    side_by_side_requested = Signal(str, str)
    dataset_requested = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[StrategyRow] = []
        self.title = QLabel("<b>Comparison</b>")
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("comparisonTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellClicked.connect(lambda row, _column: self._open_row(row))
        self.table.itemSelectionChanged.connect(self._enable)
        self.side_by_side = QPushButton("Open Side by Side")
        self.side_by_side.setToolTip(
            "The first selected strategy in the studio, the second in Compare With"
        )
        self.side_by_side.clicked.connect(
            lambda _checked=False: self._pair(self.side_by_side_requested)
        )
        self.on_dataset = QPushButton("Compare on the Test Split")
        self.on_dataset.setToolTip("Both strategies over every test record in the Dataset view")
        self.on_dataset.clicked.connect(lambda _checked=False: self._pair(self.dataset_requested))
        buttons = QHBoxLayout()
        buttons.addWidget(
            QLabel("Click a strategy to open its best checkpoint; Ctrl-click two to compare them:")
        )
        buttons.addStretch(1)
        buttons.addWidget(self.side_by_side)
        buttons.addWidget(self.on_dataset)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._enable()

    def show_rows(self, rows: list[StrategyRow]) -> None:
        self.rows = rows
        columns = ["strategy", "best seed"]
        for row in rows:
            columns += [name for name in row.cells if name not in columns]
        self.table.clear()
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            values = {
                "strategy": row.fusion,
                "best seed": "–" if row.best_seed is None else str(row.best_seed),
                **row.cells,
            }
            for column, name in enumerate(columns):
                item = QTableWidgetItem(values.get(name, ""))
                if row.checkpoint is not None:
                    item.setToolTip(f"Opens {row.checkpoint}")
                self.table.setItem(index, column, item)
        self._enable()

    def selected(self) -> list[StrategyRow]:
        indexes = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.rows[i] for i in indexes if i < len(self.rows)]

    def _open_row(self, row: int) -> None:
        # A Ctrl- or Shift-click picks rows for a comparison of two; a plain click opens.
        picking = QApplication.keyboardModifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        )
        if not picking and row < len(self.rows) and self.rows[row].checkpoint:
            self.open_requested.emit(str(self.rows[row].checkpoint))

    def _pair(self, signal) -> None:
        chosen = [row for row in self.selected() if row.checkpoint is not None]
        if len(chosen) == 2:
            signal.emit(str(chosen[0].checkpoint), str(chosen[1].checkpoint))

    def _enable(self) -> None:
        pair = len([row for row in self.selected() if row.checkpoint is not None]) == 2
        self.side_by_side.setEnabled(pair)
        self.on_dataset.setEnabled(pair)
