"""The results row of a generative model: one per record, its answer and the answer explained.

Columns (M modalities of the model, K = 2^M coalitions in the order of the metadata's
``coalitions``):

=======================  ==========================  ===========================================
column                   type                        meaning
=======================  ==========================  ===========================================
id                       string                      the record id (unique)
split, image_path,       string                      as in the classifier's rows
audio_path, text_path,                               (:mod:`mmstudio.datasets.schema`); ``text``
text, label                                          is the question
expected_answer          string                      the manifest's ``answer``, or null
error                    string                      why the record could not be analysed; null
                                                     on success, and then every column below is
                                                     null
answer                   string                      the generated answer (greedy by default)
answer_tokens            int32                       its length in tokens
finished                 string                      "eos" (the model ended it) or "length"
                                                     (it reached the most new tokens)
correct                  bool                        normalised exact match of ``answer`` and
                                                     ``expected_answer`` (SQuAD's rule,
                                                     datasets.answer_match); null without one
present_<m>              bool                        the modality is in the record
shapley_base,            float64                     the answer's log-probability (sum over its
full_score                                           tokens, teacher-forced) with no input / all
                                                     of it
shapley_<m>              float64                     the answer's exact Shapley value; null when
                                                     absent
coalition_values         fixed_size_list<float64>[K] the answer's log-probability under each
                                                     coalition
coalition_answers        list<string> (K)            with ``--coalition-answers``: the answer
                                                     generated under each coalition; else null
coalition_correct        list<bool> (K)              each of those matched against
                                                     ``expected_answer``; null without both
notes                    list<string>                notes of the analysis
meta_<key>               bool/int64/float64/string   the record's own extra fields
=======================  ==========================  ===========================================

The schema metadata (key ``mmstudio``) holds ``task: "generation"``, the modalities, the
coalition names, the model, its weights fingerprint and the decoding options, so a results
folder is resumed only by the same model decoding the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pyarrow as pa

from mmstudio.datasets.answer_match import exact_match
from mmstudio.datasets.results_metadata import METADATA_KEY, coalition_names
from mmstudio.datasets.schema import (
    _META_TYPES,
    FORMAT_VERSION,
    _meta_value,
    _path,
)
from mmstudio.result import GENERATION, GenerationAnalysis
from mmstudio.training.manifest import Record


@dataclass
class AnsweredRecord:
    """One record's outcome: its explained answer, and the answer under every coalition when
    they were asked for."""

    analysis: GenerationAnalysis
    coalition_answers: list[str] | None = None


@dataclass(frozen=True)
class GenerationLayout:
    """What fixes a generative model's rows: its modalities, the dataset's metadata keys and
    the decoding options. Plain tuples, so it pickles like the classifier's layout."""

    modalities: tuple[str, ...]
    meta_types: tuple[tuple[str, str], ...] = ()
    model: str = ""
    model_fingerprint: str = ""
    # GenerationOptions.to_dict() as sorted items, and whether every coalition generates.
    options: tuple[tuple[str, Any], ...] = ()
    coalition_answers: bool = False
    compare: None = None  # no second model for generators yet
    task: str = GENERATION

    @property
    def coalitions(self) -> list[str]:
        return coalition_names(self.modalities)

    def decoding(self) -> dict[str, Any]:
        return dict(self.options)

    def metadata(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "task": GENERATION,
            "labels": [],
            "modalities": list(self.modalities),
            "coalitions": self.coalitions,
            "model": self.model,
            "model_fingerprint": self.model_fingerprint,
            "generation": self.decoding(),
            "coalition_answers": self.coalition_answers,
        }

    @cached_property
    def schema(self) -> pa.Schema:
        coalitions = 2 ** len(self.modalities)
        fields = [
            pa.field("id", pa.string(), nullable=False),
            *(pa.field(name, pa.string()) for name in _RECORD_STRINGS),
            pa.field("expected_answer", pa.string()),
            pa.field("error", pa.string()),
            pa.field("answer", pa.string()),
            pa.field("answer_tokens", pa.int32()),
            pa.field("finished", pa.string()),
            pa.field("correct", pa.bool_()),
            *(pa.field(f"present_{m}", pa.bool_()) for m in self.modalities),
            pa.field("shapley_base", pa.float64()),
            pa.field("full_score", pa.float64()),
            *(pa.field(f"shapley_{m}", pa.float64()) for m in self.modalities),
            pa.field("coalition_values", pa.list_(pa.float64(), coalitions)),
            pa.field("coalition_answers", pa.list_(pa.string())),
            pa.field("coalition_correct", pa.list_(pa.bool_())),
            pa.field("notes", pa.list_(pa.string())),
            *(
                pa.field(f"meta_{key}", _META_TYPES.get(kind, pa.string()))
                for key, kind in self.meta_types
            ),
        ]
        return pa.schema(fields, metadata={METADATA_KEY: json.dumps(self.metadata())})

    def table(
        self,
        records: Sequence[Record],
        outcomes: Sequence[AnsweredRecord | str],
        compared: Sequence | None = None,
    ) -> pa.Table:
        """Rows for ``records``; each outcome is the record's AnsweredRecord or its error."""
        if compared is not None:
            raise ValueError("a generative model's rows compare no second model")
        rows = [self._row(r, o) for r, o in zip(records, outcomes, strict=True)]
        return pa.Table.from_pylist(rows, schema=self.schema)

    def _row(self, record: Record, outcome: AnsweredRecord | str) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": record.id,
            "split": record.split,
            "image_path": _path(record.image),
            "audio_path": _path(record.audio),
            "text_path": _path(getattr(record, "text_file", None)),
            "text": record.text,
            "label": record.label,
            "expected_answer": record.answer,
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
        row.update(self._answer_columns(outcome, record.answer))
        return row

    def _answer_columns(self, outcome: AnsweredRecord, expected: str | None) -> dict[str, Any]:
        analysis = outcome.analysis
        values = analysis.token_coalition_logprobs.sum(1)
        shapley = analysis.shapley_of()
        answers = outcome.coalition_answers
        columns: dict[str, Any] = {
            "answer": analysis.answer,
            "answer_tokens": len(analysis.answer_token_ids),
            "finished": analysis.finished,
            "correct": None if expected is None else exact_match(analysis.answer, expected),
            "shapley_base": float(values[0]),
            "full_score": float(values[-1]),
            "coalition_values": values.tolist(),
            "coalition_answers": answers,
            "coalition_correct": (
                None
                if answers is None or expected is None
                else [exact_match(a, expected) for a in answers]
            ),
            "notes": list(analysis.notes),
        }
        columns.update({f"present_{m}": m in analysis.present for m in self.modalities})
        columns.update({f"shapley_{m}": shapley.get(m) for m in self.modalities})
        return columns


_RECORD_STRINGS = ("split", "image_path", "audio_path", "text_path", "text", "label")
