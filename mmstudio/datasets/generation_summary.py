"""The summary of a generative model's results: normalised exact-match accuracy overall, per
coalition of modalities and per metadata slice, and reliance (each modality's mean share of the
answer's absolute Shapley values) over all records and per slice; and the same per label (a
question/answer dataset's question kind): ``per_label``.

Read from the stored rows one batch at a time, like the classifier's summary. Coalition
accuracies need the answers generated under each coalition (``mmstudio analyze
--coalition-answers``); without them the coalitions have counts of 0 and no accuracy. They are
counted two ways:

- ``coalitions`` (over all records): a record counts for a coalition only if it has every
  modality in it, as the classifier's summary counts (robustness to a missing modality);
- ``per_label[label]["coalitions"]``: every record of the label counts, answered with the
  coalition's modalities that it holds (a coalition naming a modality the record lacks is the
  same prompt as the one without it). The full coalition is then each record's own prompt, so
  its accuracy is the label's exact-match accuracy, and each smaller coalition shows what the
  answers lose when those modalities are switched off.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmstudio.datasets.figures import error_examples, percent, ratio, to_numpy
from mmstudio.datasets.results_metadata import layout_of
from mmstudio.result import GENERATION

ALL_RECORDS = "all records"
# per_label's row of every record that has a label, whatever it is.
ALL_LABELS = "all labels"
# The reliance slices of the label (per_label's), beside the metadata slices: "label=sum".
LABEL_SLICE = "label"
# A metadata column with more distinct values than this (an id, a file name) is not a slice.
MAX_SLICE_VALUES = 50
_FINISHED = {"eos": "ended by the model", "length": "cut at the most new tokens"}


class _Group:
    """Rows, rows with an expected answer, right answers and summed Shapley shares."""

    def __init__(self, modalities: int):
        self.count = self.expected = self.right = 0
        self.shares = np.zeros(modalities)

    def add(self, shares: np.ndarray, expected: np.ndarray, right: np.ndarray) -> None:
        self.count += len(shares)
        self.expected += int(expected.sum())
        self.right += int(right.sum())
        self.shares += shares.sum(0)

    def result(self, modalities: list[str]) -> dict[str, Any]:
        return {
            "count": self.count,
            "with_expected_answer": self.expected,
            "accuracy": ratio(self.right, self.expected),
            "shapley_share": {
                m: ratio(self.shares[j], self.count) for j, m in enumerate(modalities)
            },
        }


class _LabelGroup(_Group):
    """A label's group, with the records scored under each coalition (per_label)."""

    def __init__(self, modalities: int, coalitions: int):
        super().__init__(modalities)
        self.coalitions = np.zeros((2, coalitions), dtype=np.int64)  # scored, right

    def add_coalitions(self, correct: np.ndarray) -> None:
        """``correct``: (N, K) bool, each record's answer under each coalition matched."""
        self.coalitions[0] += len(correct)
        self.coalitions[1] += correct.sum(0)

    def labelled_result(self, modalities: list[str], names: list[str]) -> dict[str, Any]:
        result = self.result(modalities)
        result["coalitions"] = {
            name: {
                "count": int(self.coalitions[0, k]),
                "accuracy": ratio(self.coalitions[1, k], self.coalitions[0, k]),
            }
            for k, name in enumerate(names)
        }
        return result


class GenerationSummaryBuilder:
    """Accumulates the summary from result batches; ``result()`` may be read at any time."""

    def __init__(self, schema: pa.Schema):
        info = layout_of(schema)
        self.modalities: list[str] = info.get("modalities", [])
        self.coalitions: list[str] = info.get("coalitions", [])
        self.model: str = info.get("model", "")
        self.generation: dict[str, Any] = info.get("generation", {})
        self.coalition_answers: bool = bool(info.get("coalition_answers", False))
        self.meta_columns = [name for name in schema.names if name.startswith("meta_")]
        self.records = self.errors = self.tokens = 0
        self.finished: dict[str, int] = {}
        self.everything = _Group(len(self.modalities))
        # Per label (sorted by name in the result), and every record with a label together.
        self.labels: dict[str, _LabelGroup] = {}
        self.labelled = _LabelGroup(len(self.modalities), len(self.coalitions))
        self.coalition_counts = np.zeros((2, len(self.coalitions)), dtype=np.int64)
        self._members = np.array(
            [[m in name.split("+") for m in self.modalities] for name in self.coalitions],
            dtype=bool,
        ).reshape(len(self.coalitions), len(self.modalities))
        # None once a column turns out to have too many values to be a slice.
        self.slices: dict[str, dict[Any, _Group] | None] = {n: {} for n in self.meta_columns}
        self.error_examples: list[dict[str, str]] = []

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        self.records += batch.num_rows
        failed = to_numpy(pc.is_valid(batch.column("error")))
        self._add_errors(batch, failed)
        ok = ~failed
        if not ok.any():
            return
        analysed = batch.filter(pa.array(ok))
        self.tokens += int(pc.sum(analysed.column("answer_tokens")).as_py() or 0)
        for reason in analysed.column("finished").to_pylist():
            self.finished[reason] = self.finished.get(reason, 0) + 1
        present = np.stack(
            [to_numpy(analysed.column(f"present_{m}")).astype(bool) for m in self.modalities], 1
        ).reshape(analysed.num_rows, len(self.modalities))
        shares = self._shares(analysed, present)
        correct = analysed.column("correct").to_pylist()
        expected = np.array([c is not None for c in correct], dtype=bool)
        right = np.array([bool(c) for c in correct], dtype=bool)
        self.everything.add(shares, expected, right)
        self._add_coalitions(analysed, present)
        self._add_labels(analysed, shares, expected, right)
        self._add_slices(analysed, shares, expected, right)

    def _add_errors(self, batch, failed: np.ndarray) -> None:
        self.errors += int(failed.sum())
        self.error_examples += error_examples(batch, failed, self.error_examples)

    def _shares(self, analysed, present: np.ndarray) -> np.ndarray:
        """(N, M) each modality's share of the answer's absolute Shapley values (absent 0)."""
        shapley = np.stack(
            [to_numpy(analysed.column(f"shapley_{m}").fill_null(0.0)) for m in self.modalities],
            1,
        ).reshape(analysed.num_rows, len(self.modalities))
        magnitude = np.abs(shapley) * present
        total = magnitude.sum(1, keepdims=True)
        return np.divide(magnitude, total, out=np.zeros_like(magnitude), where=total > 0)

    def _add_coalitions(self, analysed, present: np.ndarray) -> None:
        for row, correct in enumerate(analysed.column("coalition_correct").to_pylist()):
            if correct is None:
                continue
            # The record has every modality of the coalition.
            valid = ~(self._members & ~present[row]).any(-1)
            self.coalition_counts[0] += valid
            self.coalition_counts[1] += valid & np.array(correct, dtype=bool)

    def _add_labels(self, analysed, shares, expected, right) -> None:
        labels = analysed.column("label").to_pylist()
        scored = analysed.column("coalition_correct").to_pylist()
        for value in dict.fromkeys(v for v in labels if v is not None):
            chosen = np.array([v == value for v in labels], dtype=bool)
            group = self.labels.setdefault(
                str(value), _LabelGroup(len(self.modalities), len(self.coalitions))
            )
            correct = np.array(
                [c for c, keep in zip(scored, chosen, strict=True) if keep and c is not None],
                dtype=bool,
            ).reshape(-1, len(self.coalitions))
            for target in (group, self.labelled):
                target.add(shares[chosen], expected[chosen], right[chosen])
                target.add_coalitions(correct)

    def _add_slices(self, analysed, shares, expected, right) -> None:
        for name in self.meta_columns:
            groups = self.slices[name]
            if groups is None:
                continue
            values = analysed.column(name).to_pylist()
            for value in dict.fromkeys(v for v in values if v is not None):
                chosen = np.array([v == value for v in values], dtype=bool)
                group = groups.setdefault(value, _Group(len(self.modalities)))
                group.add(shares[chosen], expected[chosen], right[chosen])
            if len(groups) > MAX_SLICE_VALUES:
                self.slices[name] = None

    def result(self) -> dict[str, Any]:
        analysed = self.records - self.errors
        everything = self.everything.result(self.modalities)
        slices = {
            name[len("meta_") :]: {
                str(value): group.result(self.modalities)
                for value, group in sorted(groups.items(), key=lambda kv: str(kv[0]))
            }
            for name, groups in self.slices.items()
            if groups
        }
        per_label = {
            label: group.labelled_result(self.modalities, self.coalitions)
            for label, group in sorted(self.labels.items())
        }
        reliance = {ALL_RECORDS: everything}
        for label, entry in per_label.items():
            reliance[f"{LABEL_SLICE}={label}"] = {
                k: v for k, v in entry.items() if k != "coalitions"
            }
        if per_label:
            per_label[ALL_LABELS] = self.labelled.labelled_result(self.modalities, self.coalitions)
        for column, values in slices.items():
            for value, entry in values.items():
                reliance[f"{column}={value}"] = entry
        return {
            "task": GENERATION,
            "model": self.model,
            "labels": [],
            "modalities": self.modalities,
            "generation": self.generation,
            "records": self.records,
            "analysed": analysed,
            "errors": self.errors,
            "with_expected_answer": everything["with_expected_answer"],
            "accuracy": everything["accuracy"],
            "mean_answer_tokens": ratio(self.tokens, analysed),
            "finished": dict(sorted(self.finished.items())),
            "coalition_answers": self.coalition_answers,
            "coalitions": {
                name: {
                    "count": int(self.coalition_counts[0, k]),
                    "accuracy": ratio(self.coalition_counts[1, k], self.coalition_counts[0, k]),
                }
                for k, name in enumerate(self.coalitions)
            },
            "per_label": per_label,
            "slices": slices,
            "reliance_by": "slice",
            "reliance": reliance,
            "error_examples": self.error_examples,
        }


def format_generation_summary(summary: dict[str, Any]) -> list[str]:
    """The summary as the lines the command line prints."""
    lines = [
        f"{summary['records']} records: {summary['analysed']} answered, {summary['errors']} "
        f"could not be read; {summary['with_expected_answer']} with an expected answer",
    ]
    if summary["mean_answer_tokens"] is not None:
        finished = ", ".join(
            f"{n} {_FINISHED.get(reason, reason)}" for reason, n in summary["finished"].items()
        )
        lines.append(f"Answers: {summary['mean_answer_tokens']:.1f} tokens on average ({finished})")
    if summary["accuracy"] is not None:
        lines.append(f"Exact-match accuracy {summary['accuracy']:.1%} (normalised, SQuAD's rule)")
        if summary["coalition_answers"]:
            lines.append("Accuracy by coalition of modalities (records that have them):")
            for name, entry in summary["coalitions"].items():
                lines.append(f"  {name:<20} {percent(entry['accuracy']):>7}  (n={entry['count']})")
        else:
            lines.append(
                "Accuracy by coalition: not measured (--coalition-answers generates the "
                "answer under every coalition)"
            )
    lines += format_per_label(summary)
    lines.append("Mean share of the answer's Shapley values per modality:")
    for group, entry in summary["reliance"].items():
        if entry["count"]:
            shares = ", ".join(f"{m} {percent(v)}" for m, v in entry["shapley_share"].items())
            accuracy = (
                f"; accuracy {percent(entry['accuracy'])}" if entry["accuracy"] is not None else ""
            )
            lines.append(f"  {group:<20} {shares}  (n={entry['count']}{accuracy})")
    for example in summary["error_examples"][:3]:
        lines.append(f"Error: {example['id']}: {example['error']}")
    return lines


def format_per_label(summary: dict[str, Any]) -> list[str]:
    """The per-label table: exact match, then each coalition's accuracy (the full one first)."""
    per_label = summary.get("per_label") or {}
    if not per_label or summary["accuracy"] is None:
        return []
    names = list(reversed(summary.get("coalitions", {})))
    lines = [
        "Per label: exact match, and with --coalition-answers the accuracy of the answer "
        "generated with only each coalition's modalities (those the record holds):"
    ]
    measured = summary["coalition_answers"]
    width = max(len(label) for label in per_label)
    header = f"  {'label':<{width}} {'n':>6} {'exact':>7}"
    if measured:
        header += "".join(f" {name:>{max(7, len(name))}}" for name in names)
    lines.append(header)
    for label, entry in per_label.items():
        line = (
            f"  {label:<{width}} {entry['with_expected_answer']:>6} {percent(entry['accuracy']):>7}"
        )
        if measured:
            line += "".join(
                f" {percent(entry['coalitions'][name]['accuracy']):>{max(7, len(name))}}"
                for name in names
            )
        lines.append(line)
    return lines
