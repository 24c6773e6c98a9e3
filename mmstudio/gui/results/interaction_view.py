"""A small signed matrix of the modality interactions, next to the Shapley bars.

Off the diagonal the pairwise Shapley interaction index, on it each modality's Shapley value,
both in the Shapley bars' unit (Δ log-probability of the predicted label). Each cell's tooltip
also gives the pair's Shapley-Taylor and Möbius values.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from mmstudio.gui.common.theme import NEGATIVE_COLOR, POSITIVE_COLOR
from mmstudio.result import Analysis

TITLE = "Interactions"
EXPLANATION = (
    "Off the diagonal: what two modalities add together beyond what each adds alone "
    "(red: synergy, blue: redundancy); on it, each one's Shapley value."
)
_CELL_WIDTH = 52


class InteractionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("interactionView")
        self.title = QLabel(f"<b>{TITLE}</b>")
        self.caption = QLabel(EXPLANATION)
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: palette(placeholder-text);")
        self.caption.setToolTip(
            "Exact pairwise Shapley interaction index (Grabisch & Roubens) over the same "
            "coalition values as the Shapley bars; hover a cell for its Shapley-Taylor and "
            "Möbius values too."
        )
        self.grid = QGridLayout()
        self.grid.setSpacing(2)
        self.cells: dict[tuple[str, str], QLabel] = {}
        self._modalities: list[str] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.caption)
        layout.addLayout(self.grid)
        self.conflict = QLabel()
        self.conflict.setObjectName("conflictLabel")
        self.conflict.setWordWrap(True)
        self.conflict.setToolTip(
            "What each modality predicts on its own, and how much those predictions disagree: "
            "the mean Jensen-Shannon divergence between them, 0 (they agree) to 1 bit (each is "
            "certain of a different label)."
        )
        layout.addWidget(self.conflict)
        layout.addStretch(1)
        self.setMaximumWidth(_CELL_WIDTH * 4 + 40)
        self.clear()

    def show_analysis(self, analysis: Analysis) -> None:
        present = [m for m in analysis.modalities if m in analysis.present]
        pairs = analysis.interactions.get("shapley_interaction", {})
        if len(present) < 2 or not pairs:
            self.clear("One modality: nothing to interact with." if present else "")
            return
        values = {(m, m): analysis.shapley.get(m, 0.0) for m in present}
        for key, value in pairs.items():
            first, second = key.split("+")
            values[first, second] = values[second, first] = value
        largest = max(abs(v) for v in values.values()) or 1.0
        self._reset_grid(present)
        for (row, column), value in values.items():
            cell = self.cells[row, column]
            cell.setText(f"{value:+.2f}")
            cell.setStyleSheet(_cell_style(value, largest, bold=row == column))
            cell.setToolTip(_tooltip(analysis, row, column, value))
        self.caption.setText(EXPLANATION)
        alone = " · ".join(f"{m} {label}" for m, label in analysis.alone_predictions.items())
        conflict = "" if analysis.conflict is None else f" · conflict {analysis.conflict:.2f}"
        self.conflict.setText(f"Alone: {alone}{conflict}" if alone else "")

    def _reset_grid(self, modalities: list[str]) -> None:
        if modalities == self._modalities:
            return  # the same cells: only their texts change, no relayout
        self._modalities = list(modalities)
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.cells = {}
        for index, modality in enumerate(modalities, start=1):
            self.grid.addWidget(_header(modality), 0, index)
            self.grid.addWidget(_header(modality), index, 0)
            for other_index, other in enumerate(modalities, start=1):
                cell = QLabel()
                cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
                cell.setFixedWidth(_CELL_WIDTH)
                cell.setObjectName(f"interaction_{modality}_{other}")
                self.grid.addWidget(cell, index, other_index)
                self.cells[modality, other] = cell

    def clear(self, reason: str = "") -> None:
        self._reset_grid([])
        self.conflict.setText("")
        self.caption.setText(reason or EXPLANATION)

    def matrix(self) -> dict[tuple[str, str], str]:
        """(row, column) -> the text shown (for tests and accessibility)."""
        return {key: cell.text() for key, cell in self.cells.items()}


def _header(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def _cell_style(value: float, largest: float, *, bold: bool) -> str:
    colour = QColor(POSITIVE_COLOR if value >= 0 else NEGATIVE_COLOR)
    # Shade by size, with a floor so that a small value still shows its sign.
    colour.setAlphaF(0.15 + 0.75 * min(abs(value) / largest, 1.0))
    weight = "bold" if bold else "normal"
    return (
        f"background-color: rgba({colour.red()}, {colour.green()}, {colour.blue()}, "
        f"{colour.alphaF():.2f}); font-weight: {weight}; padding: 3px; border-radius: 3px;"
    )


def _tooltip(analysis: Analysis, row: str, column: str, value: float) -> str:
    if row == column:
        alone = analysis.interactions.get("moebius", {}).get(row)
        extra = f"; alone it adds {alone:+.3f}" if alone is not None else ""
        return f"{row}: Shapley value {value:+.3f}{extra}"
    key = "+".join(m for m in analysis.modalities if m in (row, column))
    taylor = analysis.interactions.get("shapley_taylor", {}).get(key, float("nan"))
    moebius = analysis.interactions.get("moebius", {}).get(key, float("nan"))
    return (
        f"{row} × {column}: Shapley interaction {value:+.3f}, Shapley-Taylor {taylor:+.3f}, "
        f"Möbius {moebius:+.3f} (Δ log-probability beyond each alone)"
    )
