"""A generative model's summary per label (a question/answer dataset's question kind): one row
per label, then every labelled record together, with the exact-match accuracy, the accuracy of
the answer generated with only each coalition's modalities (the full coalition first; n/a until
``--coalition-answers`` measured them) and each modality's mean share of the answer's Shapley
values. Drawn from the summary's ``per_label`` (:mod:`mmstudio.datasets.generation_summary`)."""

from __future__ import annotations

from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from mmstudio.datasets.figures import percent

# Room for the eight kinds of the digits questions and the total without scrolling.
TABLE_HEIGHT = 300
_COALITION_TIP = (
    "How often the answer generated with only these modalities (of those the record holds) "
    "matches the expected one; the full coalition is the exact-match accuracy"
)
_SHARE_TIP = "Mean share of the answer's absolute Shapley values that this modality carries"


class LabelTable(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(0, 0, parent)
        self.setObjectName("per-label")
        self.verticalHeader().hide()
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setMinimumHeight(TABLE_HEIGHT)
        self.headers: list[str] = []

    def show_summary(self, summary: dict) -> None:
        """Fill the table from ``summary``; hidden when no record has a label."""
        per_label = summary.get("per_label") or {}
        self.setVisible(bool(per_label))
        if not per_label:
            self.setRowCount(0)
            return
        # The full coalition first, as the coalitions table lists them.
        coalitions = list(reversed(summary["coalitions"]))
        modalities = summary["modalities"]
        headers = [
            "label",
            "records",
            "exact match",
            *coalitions,
            *(f"{m} share" for m in modalities),
        ]
        if headers != self.headers:
            self.headers = headers
            self.setColumnCount(len(headers))
            self.setHorizontalHeaderLabels(headers)
            for column in range(3, len(headers)):
                tip = _COALITION_TIP if column < 3 + len(coalitions) else _SHARE_TIP
                self.horizontalHeaderItem(column).setToolTip(tip)
            header = self.horizontalHeader()
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setStretchLastSection(True)
        self.setRowCount(len(per_label))
        for row, (label, entry) in enumerate(per_label.items()):
            cells = [
                label,
                f"{entry['with_expected_answer']:,}",
                percent(entry["accuracy"]),
                *(percent(entry["coalitions"][name]["accuracy"]) for name in coalitions),
                *(percent(entry["shapley_share"][m]) for m in modalities),
            ]
            for column, text in enumerate(cells):
                self.setItem(row, column, QTableWidgetItem(text))
