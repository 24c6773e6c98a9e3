"""The results row: one per record, the same for every engine, as a pyarrow schema.

Columns (M modalities of the model, C labels, K = 2^M coalitions):

==========================  ==========================  ========================================
column                      type                        meaning
==========================  ==========================  ========================================
id                          string                      the record id (unique)
split                       string                      train / val / test, or null
image_path, audio_path,     string                      the record's files (absolute), or null
text_path
text                        string                      the record's text as written, or null
label                       string                      the record's label, or null
label_index                 int32                       its index in the model's labels; null
                                                        without a label the model knows
error                       string                      why the record could not be analysed;
                                                        null on success, and then every
                                                        column below is null
predicted, predicted_index  string, int32               the prediction
confidence                  float32                     its probability
correct                     bool                        null without ``label_index``
probabilities               fixed_size_list<float32>[C] in the order of the model's labels
present_<m>                 bool                        the modality is in the record
shapley_base, full_score    float64                     the value function (log-probability of
                                                        the prediction) with no input / all input
shapley_<m>                 float64                     exact Shapley value; null when absent
weight_<m>                  float32                     the model's fusion weight; null when
                                                        absent or the model has none
coalition_values            fixed_size_list<float64>[K] the value function under each coalition
coalition_predictions       fixed_size_list<int32>[K]   the class each coalition predicts
embedding                   list<float32>               the fused pre-logit vector, or null
notes                       list<string>                what preprocessing changed
meta_<key>                  bool/int64/float64/string   the record's own extra fields
==========================  ==========================  ========================================

With a second model (``mmstudio analyze --compare M2``, :mod:`mmstudio.datasets.compare`), each
row also holds that model's ("B") answer, after ``notes``. Class indices and probabilities are
in the first model's label order (so they compare with ``predicted_index`` and ``label_index``
directly); the per-modality and coalition columns are over B's own M' modalities, K' = 2^M':

===============================  ============================  ===============================
column                           type                          meaning
===============================  ============================  ===============================
compare_error                    string                        why B could not analyse the
                                                               record (a read error is both
                                                               models'); null on success, and
                                                               then every column below is null
compare_predicted,               string, int32                 B's prediction (index in the
compare_predicted_index                                        first model's labels)
compare_confidence               float32                       its probability
compare_correct                  bool                          null without ``label_index``
agree                            bool                          both predict the same class;
                                                               null unless both analysed it
compare_probabilities            fixed_size_list<float32>[C]   in the first model's label order
compare_full_score               float64                       B's value function, all input
compare_shapley_<m>              float64                       B's exact Shapley value; null
                                                               when B saw no <m>
compare_weight_<m>               float32                       B's fusion weight, or null
compare_coalition_values         fixed_size_list<float64>[K']  B's value function under each
                                                               coalition of its modalities
compare_coalition_predictions    fixed_size_list<int32>[K']    the class (first model's index)
                                                               each of B's coalitions predicts
===============================  ============================  ===============================

The file's schema metadata (key ``mmstudio``) holds the labels, modalities, coalition names
(in the order of the two coalition columns), model name and format version as JSON; with a
second model, ``compare`` holds its name, weights fingerprint, own labels, modalities and
coalition names.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pyarrow as pa

from mmstudio.datasets.compare import CompareLayout
from mmstudio.datasets.results_metadata import METADATA_KEY, coalition_names
from mmstudio.result import Analysis
from mmstudio.training.manifest import Record

FORMAT_VERSION = 1

_META_TYPES = {"bool": pa.bool_(), "int64": pa.int64(), "float64": pa.float64()}


def infer_meta_types(records: Sequence[Record]) -> tuple[tuple[str, str], ...]:
    """One Arrow type per metadata key, the narrowest that holds every record's value.

    The schema has to be fixed before the first row is written, so this looks at every
    record up front; anything that is not uniformly a bool, an integer or a number is a
    string (lists and objects as JSON).
    """
    kinds: dict[str, set[str]] = {}
    for record in records:
        for key, value in record.meta.items():
            kinds.setdefault(key, set())
            if value is not None:
                kinds[key].add(_kind_of(value))
    return tuple((key, _narrowest(found)) for key, found in kinds.items())


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string"


def _narrowest(kinds: set[str]) -> str:
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == {"int64", "float64"}:
        return "float64"
    return "string"


def _meta_value(value: Any, kind: str) -> Any:
    if value is None or kind != "string":
        return float(value) if kind == "float64" and value is not None else value
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class RowLayout:
    """Everything that fixes the row schema: the model's labels and modalities and the
    dataset's metadata keys. Plain tuples, so it pickles to Ray actors unchanged."""

    labels: tuple[str, ...]
    modalities: tuple[str, ...]
    meta_types: tuple[tuple[str, str], ...] = ()
    model: str = ""
    model_fingerprint: str = ""
    fusion_weights_kind: str = ""
    # The second model's columns (``--compare``), or None for one model.
    compare: CompareLayout | None = None

    @cached_property
    def _label_index(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}

    @property
    def coalitions(self) -> list[str]:
        return coalition_names(self.modalities)

    def metadata(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "labels": list(self.labels),
            "modalities": list(self.modalities),
            "coalitions": self.coalitions,
            "model": self.model,
            "model_fingerprint": self.model_fingerprint,
            "fusion_weights_kind": self.fusion_weights_kind,
            **({"compare": self.compare.metadata()} if self.compare is not None else {}),
        }

    @cached_property
    def schema(self) -> pa.Schema:
        classes, coalitions = len(self.labels), 2 ** len(self.modalities)
        fields = [
            pa.field("id", pa.string(), nullable=False),
            *(pa.field(name, pa.string()) for name in _RECORD_STRINGS),
            pa.field("label_index", pa.int32()),
            pa.field("error", pa.string()),
            pa.field("predicted", pa.string()),
            pa.field("predicted_index", pa.int32()),
            pa.field("confidence", pa.float32()),
            pa.field("correct", pa.bool_()),
            pa.field("probabilities", pa.list_(pa.float32(), classes)),
            *(pa.field(f"present_{m}", pa.bool_()) for m in self.modalities),
            pa.field("shapley_base", pa.float64()),
            pa.field("full_score", pa.float64()),
            *(pa.field(f"shapley_{m}", pa.float64()) for m in self.modalities),
            *(pa.field(f"weight_{m}", pa.float32()) for m in self.modalities),
            pa.field("coalition_values", pa.list_(pa.float64(), coalitions)),
            pa.field("coalition_predictions", pa.list_(pa.int32(), coalitions)),
            pa.field("embedding", pa.list_(pa.float32())),
            pa.field("notes", pa.list_(pa.string())),
            *(self.compare.fields() if self.compare is not None else ()),
            *(
                pa.field(f"meta_{key}", _META_TYPES.get(kind, pa.string()))
                for key, kind in self.meta_types
            ),
        ]
        return pa.schema(fields, metadata={METADATA_KEY: json.dumps(self.metadata())})

    def table(
        self,
        records: Sequence[Record],
        outcomes: Sequence[Analysis | str],
        compared: Sequence[Analysis | str] | None = None,
    ) -> pa.Table:
        """Rows for ``records``; each outcome is the record's Analysis or its error message,
        and ``compared`` the second model's, when the layout has one."""
        rows = [self._row(r, o) for r, o in zip(records, outcomes, strict=True)]
        if self.compare is not None:
            if compared is None:
                raise ValueError("this layout compares two models: give the second's outcomes")
            for row, outcome in zip(rows, compared, strict=True):
                row.update(
                    self.compare.columns(outcome, row["label_index"], row.get("predicted_index"))
                )
        return pa.Table.from_pylist(rows, schema=self.schema)

    def _row(self, record: Record, outcome: Analysis | str) -> dict[str, Any]:
        label_index = self._label_index.get(record.label) if record.label is not None else None
        row: dict[str, Any] = {
            "id": record.id,
            "split": record.split,
            "image_path": _path(record.image),
            "audio_path": _path(record.audio),
            "text_path": _path(getattr(record, "text_file", None)),
            "text": record.text,
            "label": record.label,
            "label_index": label_index,
        }
        named = set(record.modalities) | ({"text"} if getattr(record, "text_file", None) else set())
        row.update({f"present_{m}": m in named for m in self.modalities})
        row.update(
            {
                f"meta_{key}": _meta_value(record.meta.get(key), kind)
                for key, kind in self.meta_types
            }
        )
        if isinstance(outcome, str):
            row["error"] = outcome
            return row
        row.update(self._analysis_columns(outcome, label_index))
        return row

    def _analysis_columns(self, analysis: Analysis, label_index: int | None) -> dict[str, Any]:
        columns: dict[str, Any] = {
            "predicted": analysis.predicted_label,
            "predicted_index": analysis.predicted_index,
            "confidence": analysis.confidence,
            "correct": None if label_index is None else analysis.predicted_index == label_index,
            "probabilities": analysis.probabilities.tolist(),
            "shapley_base": analysis.shapley_base,
            "full_score": analysis.full_score,
            "coalition_values": analysis.coalition_values.tolist(),
            "coalition_predictions": list(analysis.coalition_predictions),
            "embedding": None if analysis.embedding is None else analysis.embedding.tolist(),
            "notes": list(analysis.notes),
        }
        # What the model saw decides presence: a blank text counts as absent.
        columns.update({f"present_{m}": m in analysis.present for m in self.modalities})
        columns.update({f"shapley_{m}": analysis.shapley.get(m) for m in self.modalities})
        columns.update({f"weight_{m}": analysis.fusion_weights.get(m) for m in self.modalities})
        return columns


_RECORD_STRINGS = ("split", "image_path", "audio_path", "text_path", "text", "label")


def _path(path) -> str | None:
    return None if path is None else str(path)
