"""The dataset-level explanation aggregates in the summary panel: modality interactions per
class (a signed table: red where two modalities are needed together, blue where they are
redundant), and the results of the follow-up checks (swap test, faithfulness of the heatmaps),
which arrive after the dataset analysis. Everything is drawn from the summary dict."""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmstudio.datasets.figures import percent
from mmstudio.gui.common.theme import NEGATIVE_COLOR, POSITIVE_COLOR

ALL_CLASSES = "all"
NOT_RUN = "Swap test and faithfulness: run in the window after a dataset analysis finishes"
# A cell at the table's largest |synergy| gets this much of the signed colour.
CELL_OPACITY = 0.75
# Room for a few rows each: the summary page scrolls rather than squeezing them shut.
TABLE_HEIGHT = 150


def _table(name: str, headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setMinimumHeight(TABLE_HEIGHT)
    return table


def signed_colour(value: float, scale: float) -> QColor:
    """POSITIVE_COLOR for synergy, NEGATIVE_COLOR for redundancy, stronger with |value|."""
    colour = QColor(POSITIVE_COLOR if value > 0 else NEGATIVE_COLOR)
    colour.setAlphaF(CELL_OPACITY * min(1.0, abs(value) / scale) if scale > 0 else 0.0)
    return colour


class InteractionsTable(QTableWidget):
    """Rows: classes (and all records); columns: each pair (and larger subset) of modalities,
    with its mean Möbius synergy; the last column reads what the class relies on."""

    def __init__(self, parent=None):
        super().__init__(0, 0, parent)
        self.setObjectName("interactions")
        self.verticalHeader().hide()
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setMinimumHeight(2 * TABLE_HEIGHT)
        self.columns: list[str] = []

    def show_section(self, section: dict) -> None:
        self.columns = section["pairs"] + section["higher_order"]
        entries = [(label, e) for label, e in section["per_class"].items() if e["count"]]
        entries.append((ALL_CLASSES, section["overall"]))
        self.clear()
        self.setColumnCount(len(self.columns) + 2)
        self.setHorizontalHeaderLabels([section["by"], *self.columns, "relies on"])
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setRowCount(len(entries))
        values = [
            term["moebius"]
            for _, entry in entries
            for term in {**entry["pairs"], **entry["higher_order"]}.values()
            if term["moebius"] is not None
        ]
        scale = max((abs(v) for v in values), default=0.0)
        for row, (label, entry) in enumerate(entries):
            self.setItem(row, 0, QTableWidgetItem(f"{label} (n={entry['count']})"))
            terms = {**entry["pairs"], **entry["higher_order"]}
            for column, name in enumerate(self.columns, 1):
                self.setItem(row, column, self._cell(label, name, terms[name], scale))
            self.setItem(row, len(self.columns) + 1, QTableWidgetItem(entry["reading"]))

    def _cell(self, label: str, name: str, term: dict, scale: float) -> QTableWidgetItem:
        value = term["moebius"]
        item = QTableWidgetItem("n/a" if value is None else f"{value:+.2f}")
        if value is None:
            item.setToolTip(f"no record of {label} has {name}")
            return item
        item.setBackground(QBrush(signed_colour(value, scale)))
        lines = [f"{name}, {label}: {term['count']} records", f"Möbius synergy {value:+.3f}"]
        if "shapley_interaction" in term:
            alone = ", ".join(f"{m} alone {percent(s, 0)}" for m, s in term["alone"].items())
            lines += [
                f"Shapley interaction {term['shapley_interaction']:+.3f}",
                f"agreement {percent(term['agreement'], 0)}, {alone}, "
                f"neither {percent(term['neither'], 0)}",
            ]
        item.setToolTip("\n".join(lines))
        return item


class FollowUpTables(QWidget):
    """The swap test and faithfulness sections, and where their run stands."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.status = QLabel(NOT_RUN)
        self.status.setObjectName("followup-status")
        self.swaps = _table(
            "swap-test",
            ["swapped", "n", "changed", "→ donor's class", "→ donor's modality alone"],
        )
        self.swaps.setToolTip(
            "Each record analysed again with one modality from a record of another class: how "
            "often the prediction changed, and changed to the donor's class or to what the "
            "donor's modality predicts on its own"
        )
        self.faithfulness = _table(
            "faithfulness", ["heatmap", "n", "area", "95% interval", "beats random", "map"]
        )
        self.faithfulness.setToolTip(
            "Area between random and map-ordered deletion curves (each modality alone): > 0 "
            "when deleting what the map marks first lowers the prediction faster than chance"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.status, self.swaps, self.faithfulness):
            layout.addWidget(widget)

    def show_summary(self, summary: dict) -> None:
        """The sections the summary has; a table without one is emptied (another dataset)."""
        if "swap_test" in summary:
            self._show_swaps(summary["swap_test"])
        else:
            self.swaps.setRowCount(0)
        if "faithfulness" in summary:
            self._show_faithfulness(summary["faithfulness"])
        else:
            self.faithfulness.clearSpans()
            self.faithfulness.setRowCount(0)

    def _show_swaps(self, section: dict) -> None:
        entries = section["modalities"]
        self.swaps.setRowCount(len(entries))
        for row, (modality, entry) in enumerate(entries.items()):
            if entry["n"]:
                rates = [
                    entry[k] for k in ("changed", "follows_donor_class", "follows_donor_alone")
                ]
                cells = [modality, str(entry["n"]), *(percent(r, 0) for r in rates)]
            else:
                note = entry.get("note", "every swap failed")
                cells = [modality, "0", f"not measured: {note}", "", ""]
            for column, text in enumerate(cells):
                self.swaps.setItem(row, column, QTableWidgetItem(text))

    def _show_faithfulness(self, section: dict) -> None:
        if not section.get("measured"):
            self.faithfulness.setRowCount(1)
            item = QTableWidgetItem(f"not measured: {section['reason']}")
            item.setToolTip(section["reason"])
            self.faithfulness.setItem(0, 0, item)
            self.faithfulness.setSpan(0, 0, 1, self.faithfulness.columnCount())
            return
        self.faithfulness.clearSpans()
        entries = section["modalities"]
        self.faithfulness.setRowCount(len(entries))
        for row, (modality, entry) in enumerate(entries.items()):
            if not entry["n"]:
                cells = [modality, "0", f"not measured: {entry['note']}", "", "", ""]
                for column, text in enumerate(cells):
                    self.faithfulness.setItem(row, column, QTableWidgetItem(text))
                continue
            low, high = entry["area_ci95"]
            cells = [
                modality,
                str(entry["n"]),
                f"{entry['area_mean']:+.3f} (std {entry['area_std']:.3f})",
                f"{low:+.3f} to {high:+.3f}",
                percent(entry["beats_random"], 0),
                entry["map"],
            ]
            for column, text in enumerate(cells):
                self.faithfulness.setItem(row, column, QTableWidgetItem(text))


class AggregatesPanel(QWidget):
    """The interactions table beside the follow-up checks' tables."""

    def __init__(self, parent=None):
        super().__init__(parent)
        # No word wrap here: a wrapping label makes the scrolling summary page size itself by
        # height-for-width, at every plot's full preferred height.
        self.interactions_title = QLabel(
            "<b>Modality interactions per class</b> (red: needed together, blue: redundant)"
        )
        self.interactions_title.setToolTip(
            "Mean Möbius synergy of each pair of modalities (and the triple's term), in the "
            "log-probability of the predicted class, over the records of the class that have "
            "them. Hover a cell for the Shapley interaction index and how often the class "
            "relies on the pair's agreement or on one of them alone."
        )
        self.interactions = InteractionsTable()
        self.followups = FollowUpTables()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.interactions_title)
        layout.addWidget(self.interactions, 1)

    def show_summary(self, summary: dict) -> None:
        if "interactions" in summary:
            self.interactions.show_section(summary["interactions"])
        self.followups.show_summary(summary)
