"""A second model on the same rows: ``mmstudio analyze DATA --compare M2``.

Every row then also holds the second model's ("B") answer for the record beside the first
model's ("A"), in ``compare_*`` columns, and an ``agree`` flag, so one file answers "where do
the two models differ, and does one of them lean on another modality" without joining two
files by id.

B's class indices and probabilities are written in A's label order, so ``predicted_index`` and
``compare_predicted_index`` (and ``label_index``) index the same list; that is why two models
may be compared only when they have the same labels (in any order). B's own columns cover B's
own modalities: a text+image model compared with a trimodal one has no ``compare_*_audio``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pyarrow as pa

from mmstudio.datasets.results_metadata import coalition_names, layout_of, model_fingerprint
from mmstudio.inputs.errors import InputError
from mmstudio.result import Analysis

PREFIX = "compare_"
AGREE = "agree"
ERROR = f"{PREFIX}error"


@dataclass(frozen=True)
class CompareLayout:
    """What fixes the second model's columns: its labels (in its own order), its modalities,
    and the first model's labels it maps onto. Plain tuples, so it pickles to Ray actors."""

    labels: tuple[str, ...]
    modalities: tuple[str, ...]
    primary_labels: tuple[str, ...]
    model: str = ""
    model_fingerprint: str = ""
    fusion_weights_kind: str = ""

    @cached_property
    def to_primary(self) -> tuple[int, ...]:
        """B's class j is A's class ``to_primary[j]``."""
        index = {label: i for i, label in enumerate(self.primary_labels)}
        return tuple(index[label] for label in self.labels)

    @property
    def coalitions(self) -> list[str]:
        return coalition_names(self.modalities)

    def metadata(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_fingerprint": self.model_fingerprint,
            "labels": list(self.labels),
            "modalities": list(self.modalities),
            "coalitions": self.coalitions,
            "fusion_weights_kind": self.fusion_weights_kind,
        }

    def fields(self) -> list[pa.Field]:
        classes, coalitions = len(self.primary_labels), 2 ** len(self.modalities)
        return [
            pa.field(ERROR, pa.string()),
            pa.field(f"{PREFIX}predicted", pa.string()),
            pa.field(f"{PREFIX}predicted_index", pa.int32()),
            pa.field(f"{PREFIX}confidence", pa.float32()),
            pa.field(f"{PREFIX}correct", pa.bool_()),
            pa.field(AGREE, pa.bool_()),
            pa.field(f"{PREFIX}probabilities", pa.list_(pa.float32(), classes)),
            pa.field(f"{PREFIX}full_score", pa.float64()),
            *(pa.field(f"{PREFIX}shapley_{m}", pa.float64()) for m in self.modalities),
            *(pa.field(f"{PREFIX}weight_{m}", pa.float32()) for m in self.modalities),
            pa.field(f"{PREFIX}coalition_values", pa.list_(pa.float64(), coalitions)),
            pa.field(f"{PREFIX}coalition_predictions", pa.list_(pa.int32(), coalitions)),
        ]

    def columns(
        self, outcome: Analysis | str, label_index: int | None, primary_index: int | None
    ) -> dict[str, Any]:
        """B's columns of one row; ``primary_index`` is A's prediction (None if A failed)."""
        if isinstance(outcome, str):
            return {ERROR: outcome}
        mapping = self.to_primary
        predicted = mapping[outcome.predicted_index]
        probabilities = [0.0] * len(self.primary_labels)
        for j, p in enumerate(outcome.probabilities.tolist()):
            probabilities[mapping[j]] = p
        columns: dict[str, Any] = {
            f"{PREFIX}predicted": outcome.predicted_label,
            f"{PREFIX}predicted_index": predicted,
            f"{PREFIX}confidence": outcome.confidence,
            f"{PREFIX}correct": None if label_index is None else predicted == label_index,
            AGREE: None if primary_index is None else predicted == primary_index,
            f"{PREFIX}probabilities": probabilities,
            f"{PREFIX}full_score": outcome.full_score,
            f"{PREFIX}coalition_values": outcome.coalition_values.tolist(),
            f"{PREFIX}coalition_predictions": [mapping[c] for c in outcome.coalition_predictions],
        }
        columns.update({f"{PREFIX}shapley_{m}": outcome.shapley.get(m) for m in self.modalities})
        columns.update(
            {f"{PREFIX}weight_{m}": outcome.fusion_weights.get(m) for m in self.modalities}
        )
        return columns


def compare_layout(first, second) -> CompareLayout:
    """The layout of ``second``'s columns beside ``first``'s (both Analyzers).

    Refuses, before anything is analysed, two models whose labels are not the same set: their
    predictions could not be compared class by class.
    """
    mine, theirs = list(first.model.labels), list(second.model.labels)
    if sorted(mine) != sorted(theirs) or len(set(theirs)) != len(theirs):
        only_first = sorted(set(mine) - set(theirs))
        only_second = sorted(set(theirs) - set(mine))
        differences = []
        if only_first:
            differences.append(f"only '{first.model_name}' has {_listed(only_first)}")
        if only_second:
            differences.append(f"only '{second.model_name}' has {_listed(only_second)}")
        if not differences:
            differences.append(f"'{second.model_name}' lists a label twice")
        raise InputError(
            f"cannot compare '{first.model_name}' with '{second.model_name}': their labels "
            f"differ ({'; '.join(differences)}). Compare models trained on the same labels."
        )
    return CompareLayout(
        labels=tuple(theirs),
        modalities=tuple(second.modalities),
        primary_labels=tuple(mine),
        model=second.model_name,
        model_fingerprint=model_fingerprint(second.model),
        fusion_weights_kind=getattr(second.model, "fusion_weights_kind", ""),
    )


def _listed(labels: Sequence[str], most: int = 8) -> str:
    shown = ", ".join(f"'{label}'" for label in labels[:most])
    return shown + (f" and {len(labels) - most} more" if len(labels) > most else "")


def comparison_of(info: dict[str, Any]) -> dict[str, Any] | None:
    """The second model's entry of a results file's metadata (``layout_of``), or None."""
    return info.get("compare") or None


def comparison_mismatch(existing: pa.Schema, wanted: pa.Schema) -> str | None:
    """Why rows of ``wanted`` must not be added to a folder of ``existing`` rows because the
    comparison model differs (or one of them has none); None when it is the same."""
    had, has = comparison_of(layout_of(existing)), comparison_of(layout_of(wanted))
    if had is None and has is None:
        return None
    if had is not None and has is not None:
        if (had["model"], had["model_fingerprint"]) == (has["model"], has["model_fingerprint"]):
            return None
        return (
            f"holds results compared with '{had['model']}' (weights {had['model_fingerprint']}), "
            f"not with '{has['model']}' (weights {has['model_fingerprint']}); resume with the "
            "same --compare model, or choose another --out or pass --overwrite"
        )
    if had is None:
        return (
            f"holds results without a comparison model; resuming them with --compare "
            f"'{has['model']}' would mix rows with and without its columns. Resume without "
            "--compare, or choose another --out or pass --overwrite"
        )
    return (
        f"holds results compared with '{had['model']}'; resume with --compare "
        f"'{had['model']}' (the same model), or choose another --out or pass --overwrite"
    )
