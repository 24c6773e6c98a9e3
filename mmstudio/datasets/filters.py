"""Which result rows to show: filters and sorting computed by Arrow, never row by row in Python.

The Dataset view filters 100,000 rows on every change of a control, so a filter is a boolean
Arrow expression evaluated over whole columns, and the answer is an index array.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass
class RowFilter:
    """Every condition that is set must hold; an unset one (None or empty) lets all rows pass.

    ``correct``: True / False keep right / wrong predictions, None keeps both (and rows without
    a label). ``agree``: True / False keep the rows where the two models of a comparison
    (``--compare``) agree / disagree (rows without both answers drop out); None keeps all, and
    is the only setting for rows of one model. ``modalities`` keeps rows that have at least those modalities. ``meta`` maps a
    metadata column (without its ``meta_`` prefix) to the values to keep. ``rows`` keeps only
    those row numbers (a confusion cell or an embedding-map selection).
    """

    labels: frozenset[str] = frozenset()
    predicted: frozenset[str] = frozenset()
    correct: bool | None = None
    agree: bool | None = None
    confidence: tuple[float, float] = (0.0, 1.0)
    modalities: frozenset[str] = frozenset()
    meta: dict[str, frozenset] = field(default_factory=dict)
    errors_only: bool = False
    text: str = ""
    rows: np.ndarray | None = None

    def mask(self, table: pa.Table) -> pa.ChunkedArray | pa.Array:
        keep = pa.array(np.ones(table.num_rows, dtype=bool))
        conditions = [
            _member(table, "label", self.labels),
            _member(table, "predicted", self.predicted),
            None if self.correct is None else pc.equal(table["correct"], self.correct),
            self._agree(table),
            self._confidence(table),
            *(pc.equal(table[f"present_{m}"], True) for m in sorted(self.modalities)),
            *(_member(table, f"meta_{k}", v) for k, v in sorted(self.meta.items())),
            pc.is_valid(table["error"]) if self.errors_only else None,
            self._text(table),
            self._rows(table),
        ]
        for condition in conditions:
            if condition is not None:
                keep = pc.and_kleene(keep, pc.fill_null(condition, False))
        return keep

    def _agree(self, table: pa.Table):
        if self.agree is None:
            return None
        if "agree" not in table.column_names:
            return pa.array(np.zeros(table.num_rows, dtype=bool))  # one model agrees with none
        return pc.equal(table["agree"], self.agree)

    def _confidence(self, table: pa.Table):
        low, high = self.confidence
        if (low <= 0.0 and high >= 1.0) or "confidence" not in table.column_names:
            return None  # a generative model's rows have no confidence
        confidence = table["confidence"]
        return pc.and_(pc.greater_equal(confidence, low), pc.less_equal(confidence, high))

    def _text(self, table: pa.Table):
        if not self.text:
            return None
        needle = self.text
        hits = [
            pc.match_substring(table[name], needle, ignore_case=True)
            for name in ("id", "text", "error")
        ]
        found = hits[0]
        for hit in hits[1:]:
            found = pc.or_kleene(pc.fill_null(found, False), pc.fill_null(hit, False))
        return found

    def _rows(self, table: pa.Table):
        if self.rows is None:
            return None
        chosen = np.zeros(table.num_rows, dtype=bool)
        chosen[self.rows[self.rows < table.num_rows]] = True
        return pa.array(chosen)


def _member(table: pa.Table, column: str, values: Iterable) -> pa.Array | None:
    values = list(values)
    if not values or column not in table.column_names:
        return None
    kind = table.schema.field(column).type
    return pc.is_in(table[column], value_set=pa.array(values, type=kind))


def visible_rows(
    table: pa.Table, row_filter: RowFilter, sort_by: str | None = None, descending: bool = False
) -> np.ndarray:
    """Row numbers of ``table`` that pass ``row_filter``, in the requested order."""
    if sort_by is None:
        order = np.arange(table.num_rows)
    else:
        direction = "descending" if descending else "ascending"
        order = pc.sort_indices(
            table.select([sort_by]), sort_keys=[(sort_by, direction, "at_end")]
        ).to_numpy()
    keep = row_filter.mask(table).to_numpy(zero_copy_only=False)
    return order[keep[order]]


def confusion_rows(table: pa.Table, label: str, predicted: str) -> np.ndarray:
    """Row numbers of one confusion-matrix cell."""
    mask = pc.and_(pc.equal(table["label"], label), pc.equal(table["predicted"], predicted))
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))
