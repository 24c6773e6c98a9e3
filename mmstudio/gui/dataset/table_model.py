"""A QAbstractTableModel straight over the Arrow results table.

Nothing is copied into Python per row: the model keeps the Arrow columns and an index array of
the visible rows (filtered and sorted by Arrow compute), and converts only the cells Qt asks
for, which are the few dozen on screen.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from mmstudio.datasets.filters import RowFilter, visible_rows

# With a second model (``--compare``), its answer and the agreement follow the first's.
_LEADING = (
    "id",
    "label",
    "predicted",
    "confidence",
    "correct",
    "compare_predicted",
    "compare_confidence",
    "compare_correct",
    "agree",
)
# A generative model's rows lead with the question, the answer and the one expected.
_ANSWER_LEADING = ("id", "text", "answer", "expected_answer", "correct")
_TRAILING = ("error", "compare_error")
_HIDDEN_TYPES = (pa.types.is_list, pa.types.is_fixed_size_list)


def display_columns(schema: pa.Schema) -> list[str]:
    """The columns worth a table column: scalars, leading with the answer, then the rest."""
    scalar = [f.name for f in schema if not any(check(f.type) for check in _HIDDEN_TYPES)]
    skipped = {"label_index", "predicted_index", "compare_predicted_index", "split", "text_path"}
    leading = _ANSWER_LEADING if "answer" in schema.names else _LEADING
    middle = [n for n in scalar if n not in leading and n not in _TRAILING and n not in skipped]
    return [n for n in leading if n in scalar] + middle + [n for n in _TRAILING if n in scalar]


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


class ResultsTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = pa.table({})
        self.columns: list[str] = []
        self._arrays: dict[str, pa.ChunkedArray] = {}
        self.rows = np.zeros(0, dtype=np.int64)
        self.row_filter = RowFilter()
        self.sort_column: str | None = None
        self.descending = False

    # ---------------------------------------------------------------- data
    def set_table(self, table: pa.Table) -> None:
        self.beginResetModel()
        self.table = table
        self.columns = display_columns(table.schema)
        self._arrays = {name: table[name] for name in self.columns}
        self.rows = visible_rows(table, self.row_filter, self.sort_column, self.descending)
        self.endResetModel()

    def extend_table(self, table: pa.Table) -> None:
        """``table`` is the shown one with rows appended (a running dataset's). Where the new
        visible rows land after the old ones (in id order, say) they are inserted, so the view
        keeps its scroll position and selection and repaints only what changed."""
        rows = visible_rows(table, self.row_filter, self.sort_column, self.descending)
        old = len(self.rows)
        columns = display_columns(table.schema)
        if columns != self.columns or not np.array_equal(rows[:old], self.rows):
            self.set_table(table)
            return
        if len(rows) > old:
            self.beginInsertRows(QModelIndex(), old, len(rows) - 1)
        self.table = table
        self._arrays = {name: table[name] for name in columns}
        self.rows = rows
        if len(rows) > old:
            self.endInsertRows()

    def set_filter(self, row_filter: RowFilter) -> None:
        self.row_filter = row_filter
        self._refresh()

    def _refresh(self) -> None:
        self.beginResetModel()
        self.rows = visible_rows(self.table, self.row_filter, self.sort_column, self.descending)
        self.endResetModel()

    def table_row(self, view_row: int) -> int:
        """The row number in the Arrow table behind a row of the view."""
        return int(self.rows[view_row])

    def record(self, view_row: int) -> dict:
        """One row as a dict (for opening that sample): a single row's conversion."""
        return self.table.slice(self.table_row(view_row), 1).to_pylist()[0]

    def visible_table(self) -> pa.Table:
        return self.table.take(pa.array(self.rows))

    # ---------------------------------------------------------------- Qt
    def rowCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802 - Qt's name
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        name = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _format(self._arrays[name][int(self.rows[index.row()])].as_py())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            numeric = pa.types.is_floating(self._arrays[name].type)
            return int(
                Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
            ) | int(Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and name in _TRAILING:
            return self._arrays[name][int(self.rows[index.row()])].as_py()
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section].removeprefix("meta_").replace("_", " ")
        return str(section + 1)

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        self.layoutAboutToBeChanged.emit()
        self.sort_column = self.columns[column]
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.rows = visible_rows(self.table, self.row_filter, self.sort_column, self.descending)
        self.layoutChanged.emit()
