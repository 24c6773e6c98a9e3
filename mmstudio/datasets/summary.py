"""The summary of a results folder: accuracy overall, per class and per metadata slice, the
confusion matrix, calibration, modality reliance per class and accuracy for every coalition.

Every figure is read from the stored rows, one Arrow batch at a time, so a summary costs flat
memory and works the same on a finished run, a partial one, or the Ray engine's output. The
coalition accuracies need no extra model run: each row keeps the class every coalition of
modalities predicts, so "accuracy without the audio" is a column comparison (MultiBench's
robustness to a missing modality). A record counts for a coalition only if it has every
modality in it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmstudio.datasets.comparison_summary import comparison_builder, format_comparison
from mmstudio.datasets.figures import error_examples, list_matrix, percent, ratio, to_numpy
from mmstudio.datasets.interaction_summary import InteractionSummary, format_interactions
from mmstudio.datasets.results_metadata import layout_of
from mmstudio.datasets.store import ResultsStore
from mmstudio.result import GENERATION

ECE_BINS = 15
# A metadata column with more distinct values than this (an id, a file name) is not a slice.
MAX_SLICE_VALUES = 50
# Columns no summary figure reads (the widest ones).
UNUSED_COLUMNS = frozenset({"probabilities", "embedding", "notes", "text", "compare_probabilities"})


class SummaryBuilder:
    """Accumulates a summary from result batches; ``result()`` may be read at any time."""

    def __init__(self, schema: pa.Schema):
        info = layout_of(schema)
        self.labels: list[str] = info.get("labels", [])
        self.modalities: list[str] = info.get("modalities", [])
        self.coalitions: list[str] = info.get("coalitions", [])
        self.model: str = info.get("model", "")
        self.meta_columns = [name for name in schema.names if name.startswith("meta_")]
        classes, count = len(self.labels), len(self.modalities)
        self.records = self.errors = self.labelled = self.unknown_labels = 0
        self.confusion = np.zeros((classes, classes), dtype=np.int64)
        self.bins = np.zeros((3, ECE_BINS))  # count, confidence sum, correct sum
        self.by_label = _Reliance(classes, count)
        self.by_prediction = _Reliance(classes, count)
        self.coalition_counts = np.zeros((2, len(self.coalitions)), dtype=np.int64)
        # None once a column turns out to have too many values to be a slice.
        self.slices: dict[str, dict[Any, list[int]] | None] = {n: {} for n in self.meta_columns}
        self.error_examples: list[dict[str, str]] = []
        self._coalition_members = self._members()
        self.interactions = InteractionSummary(
            self.labels, self.modalities, self._coalition_members
        )
        # The second model's figures, when the rows compare two (``--compare``).
        self.comparison = comparison_builder(schema)

    def _members(self) -> np.ndarray:
        """(K, M) bool: which modalities each coalition holds."""
        return np.array(
            [[m in name.split("+") for m in self.modalities] for name in self.coalitions],
            dtype=bool,
        ).reshape(len(self.coalitions), len(self.modalities))

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        # Whole columns to numpy, then numpy masks: filtering the Arrow batch would copy
        # every column it keeps, strings included.
        self.records += batch.num_rows
        if self.comparison is not None:
            self.comparison.add(batch)
        failed = to_numpy(pc.is_valid(batch.column("error")))
        self._add_errors(batch, failed)
        ok = ~failed
        if not ok.any():
            return
        predicted = to_numpy(batch.column("predicted_index").fill_null(-1))[ok]
        labels = to_numpy(batch.column("label_index").fill_null(-1))[ok]
        present = np.stack([to_numpy(batch.column(f"present_{m}")) for m in self.modalities], 1)
        present = present.astype(bool)[ok]
        shares, weights = self._reliance(batch, ok, present)
        self.by_prediction.add(predicted, shares, weights)
        # flatten() skips the null lists of error rows, so its rows are the analysed ones.
        self.interactions.add(
            list_matrix(batch.column("coalition_values")), present, labels, predicted
        )
        known = labels >= 0
        self.labelled += int(known.sum())
        has_label = to_numpy(pc.is_valid(batch.column("label")))[ok]
        self.unknown_labels += int((~known & has_label).sum())
        if not known.any():
            return
        labels, predicted, present = labels[known], predicted[known], present[known]
        confidence = to_numpy(batch.column("confidence"))[ok][known]
        correct = predicted == labels
        np.add.at(self.confusion, (labels, predicted), 1)
        self._add_calibration(confidence, correct)
        self.by_label.add(labels, shares[known], weights[known])
        # flatten() skips the null lists of error rows, so its rows are the analysed ones.
        coalition_predictions = list_matrix(batch.column("coalition_predictions"))[known]
        self._add_coalitions(coalition_predictions, labels, present)
        chosen = np.zeros(batch.num_rows, dtype=bool)
        chosen[np.flatnonzero(ok)[known]] = True
        self._add_slices(batch, pa.array(chosen), correct)

    def _add_errors(self, batch, failed: np.ndarray) -> None:
        self.errors += int(failed.sum())
        self.error_examples += error_examples(batch, failed, self.error_examples)

    def _reliance(
        self, batch, ok: np.ndarray, present: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per analysed row: each modality's share of the absolute Shapley values, and its
        fusion weight (absent modalities 0; weights NaN for models without them)."""
        shapley = np.stack(
            [to_numpy(batch.column(f"shapley_{m}").fill_null(0.0)) for m in self.modalities], 1
        )[ok]
        magnitude = np.abs(shapley) * present
        total = magnitude.sum(1, keepdims=True)
        shares = np.divide(magnitude, total, out=np.zeros_like(magnitude), where=total > 0)
        weights = np.stack(
            [to_numpy(batch.column(f"weight_{m}")).astype(np.float64) for m in self.modalities], 1
        )[ok]
        weights = np.where(present, weights, 0.0)
        return shares, weights

    def _add_calibration(self, confidence: np.ndarray, correct: np.ndarray) -> None:
        # The bins of training.evaluate.expected_calibration_error: (edge_k, edge_k+1].
        edges = np.linspace(0, 1, ECE_BINS + 1)[1:-1]
        which = np.searchsorted(edges, confidence, side="left").clip(0, ECE_BINS - 1)
        np.add.at(self.bins[0], which, 1)
        np.add.at(self.bins[1], which, confidence)
        np.add.at(self.bins[2], which, correct)

    def _add_coalitions(self, predictions, labels, present) -> None:
        # (N, K): the record has every modality of the coalition.
        valid = ~(self._coalition_members[None] & ~present[:, None]).any(-1)
        right = (predictions == labels[:, None]) & valid
        self.coalition_counts[0] += valid.sum(0)
        self.coalition_counts[1] += right.sum(0)

    def _add_slices(self, batch, chosen: pa.Array, correct: np.ndarray) -> None:
        for name in self.meta_columns:
            values = self.slices[name]
            if values is None:
                continue
            groups = (
                pa.table(
                    {
                        "value": batch.column(name).filter(chosen),
                        "right": pa.array(correct, pa.int64()),
                    }
                )
                .group_by("value")
                .aggregate([("right", "count"), ("right", "sum")])
            )
            for value, n, hits in zip(
                groups["value"].to_pylist(),
                groups["right_count"].to_pylist(),
                groups["right_sum"].to_pylist(),
                strict=True,
            ):
                if value is None:
                    continue
                counts = values.setdefault(value, [0, 0])
                counts[0] += n
                counts[1] += hits
            if len(values) > MAX_SLICE_VALUES:
                self.slices[name] = None

    def result(self) -> dict[str, Any]:
        analysed = self.records - self.errors
        counts = self.confusion.sum(1)
        right = np.diag(self.confusion)
        summary: dict[str, Any] = {
            "model": self.model,
            "labels": self.labels,
            "modalities": self.modalities,
            "records": self.records,
            "analysed": analysed,
            "errors": self.errors,
            "labelled": self.labelled,
            "labels_unknown_to_model": self.unknown_labels,
            "accuracy": ratio(right.sum(), counts.sum()),
            "per_class": {
                label: {"count": int(counts[i]), "accuracy": ratio(right[i], counts[i])}
                for i, label in enumerate(self.labels)
            },
            "confusion": {
                "rows": "label",
                "columns": "prediction",
                "matrix": self.confusion.tolist(),
            },
            "ece": self._ece(),
            "coalitions": {
                name: {
                    "count": int(self.coalition_counts[0, k]),
                    "accuracy": ratio(self.coalition_counts[1, k], self.coalition_counts[0, k]),
                }
                for k, name in enumerate(self.coalitions)
            },
            "slices": {
                name[len("meta_") :]: {
                    str(value): {"count": n, "accuracy": ratio(hits, n)}
                    for value, (n, hits) in sorted(values.items(), key=lambda kv: str(kv[0]))
                }
                for name, values in self.slices.items()
                if values
            },
            "error_examples": self.error_examples,
        }
        by_label = self.labelled > 0
        reliance = self.by_label if by_label else self.by_prediction
        summary["reliance_by"] = "label" if by_label else "prediction"
        summary["reliance"] = reliance.result(self.labels, self.modalities)
        summary["interactions"] = self.interactions.result(by_label)
        if self.comparison is not None:
            summary["comparison"] = self.comparison.result()
        return summary

    def _ece(self) -> float | None:
        count, confidence, correct = self.bins
        total = count.sum()
        if total == 0:
            return None
        used = count > 0
        gaps = np.abs(correct[used] / count[used] - confidence[used] / count[used])
        return float((gaps * count[used]).sum() / total)


class _Reliance:
    """Per class: rows, summed Shapley shares and summed fusion weights per modality."""

    def __init__(self, classes: int, modalities: int):
        self.counts = np.zeros(classes, dtype=np.int64)
        self.shares = np.zeros((classes, modalities))
        self.weights = np.zeros((classes, modalities))

    def add(self, classes: np.ndarray, shares: np.ndarray, weights: np.ndarray) -> None:
        np.add.at(self.counts, classes, 1)
        np.add.at(self.shares, classes, shares)
        np.add.at(self.weights, classes, weights)

    def result(self, labels: list[str], modalities: list[str]) -> dict[str, Any]:
        out = {}
        for i, label in enumerate(labels):
            n = int(self.counts[i])
            out[label] = {
                "count": n,
                "shapley_share": {m: ratio(self.shares[i, j], n) for j, m in enumerate(modalities)},
                "fusion_weight": {
                    m: _finite(ratio(self.weights[i, j], n)) for j, m in enumerate(modalities)
                },
            }
        return out


def _finite(value: float | None) -> float | None:
    return value if value is not None and np.isfinite(value) else None


def builder_for(schema: pa.Schema):
    """The summary builder of the rows' task: a classifier's (:class:`SummaryBuilder`) or a
    generative model's (:mod:`mmstudio.datasets.generation_summary`)."""
    if layout_of(schema).get("task") == GENERATION:
        from mmstudio.datasets.generation_summary import GenerationSummaryBuilder

        return GenerationSummaryBuilder(schema)
    return SummaryBuilder(schema)


def builder_of(store: ResultsStore) -> SummaryBuilder | None:
    """A summary builder holding every row in ``store`` now; None while it has none."""
    dataset = store.dataset()
    if dataset is None:
        return None
    builder = builder_for(store.schema())
    columns = [n for n in dataset.schema.names if n not in UNUSED_COLUMNS]
    for batch in dataset.to_batches(columns=columns):
        builder.add(batch)
    return builder


class RunningSummary:
    """The summary of a running analysis's rows, kept up to date beside the run (the studio
    keeps it in its worker thread, so the window never builds one). A summary costs
    milliseconds per call whatever the rows, so rows are gathered and added every ``seconds``
    (and on the last step); each step that does so carries the summary in its
    ``Progress.summary``, the first step included. Built before the run starts, so the rows of
    an earlier run it resumes are read before this run writes any."""

    def __init__(self, store: ResultsStore, seconds: float):
        self.builder = builder_of(store)
        self.seconds = seconds
        self.pending: list[pa.Table] = []
        self.last = -seconds

    def update(self, progress) -> None:
        """Take a ``Progress`` step's rows; set its ``summary`` when one is due."""
        if progress.rows is not None:
            self.pending.append(progress.rows)
        last_step = progress.rows is None
        if not (last_step or time.monotonic() - self.last >= self.seconds):
            return
        if self.pending:
            if self.builder is None:
                self.builder = builder_for(self.pending[0].schema)
            self.builder.add(pa.concat_tables(self.pending))
            self.pending = []
        self.last = time.monotonic()
        if self.builder is not None:
            progress.summary = self.builder.result()


def summarize(results: str | Path | ResultsStore) -> dict[str, Any]:
    """The summary of every row in a results folder."""
    store = results if isinstance(results, ResultsStore) else ResultsStore(results)
    builder = builder_of(store)
    if builder is None:
        raise ValueError(f"no results in {store.path}")
    return builder.result()


def write_summary(summary: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    temporary = path.with_name(f".{path.name}.writing")
    temporary.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    temporary.replace(path)
    return path


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as the lines the command line prints."""
    if summary.get("task") == GENERATION:
        from mmstudio.datasets.generation_summary import format_generation_summary

        return "\n".join(format_generation_summary(summary))
    lines = [
        f"{summary['records']} records: {summary['analysed']} analysed, {summary['errors']} "
        f"could not be read; {summary['labelled']} with a label the model knows",
    ]
    if summary["accuracy"] is not None:
        lines.append(f"Accuracy {summary['accuracy']:.1%}   ECE {summary['ece']:.3f}")
        lines.append(
            "Per class: "
            + ", ".join(
                f"{label} {percent(entry['accuracy'])}"
                for label, entry in summary["per_class"].items()
            )
        )
        lines.append("Accuracy by coalition of modalities (records that have them):")
        for name, entry in summary["coalitions"].items():
            lines.append(f"  {name:<20} {percent(entry['accuracy']):>7}  (n={entry['count']})")
        for column, values in summary["slices"].items():
            shown = ", ".join(f"{v} {percent(e['accuracy'])}" for v, e in list(values.items())[:8])
            more = f" and {len(values) - 8} more" if len(values) > 8 else ""
            lines.append(f"By {column}: {shown}{more}")
    lines.append(f"Mean Shapley share per modality, by {summary['reliance_by']}:")
    for label, entry in summary["reliance"].items():
        if entry["count"]:
            shares = ", ".join(f"{m} {percent(v)}" for m, v in entry["shapley_share"].items())
            lines.append(f"  {label:<10} {shares}")
    if "interactions" in summary:
        lines += format_interactions(summary["interactions"])
    if "swap_test" in summary:
        from mmstudio.datasets.swap_test import format_swap_test

        lines += format_swap_test(summary["swap_test"])
    if "faithfulness" in summary:
        from mmstudio.datasets.faithfulness_summary import format_faithfulness

        lines += format_faithfulness(summary["faithfulness"])
    for example in summary["error_examples"][:3]:
        lines.append(f"Error: {example['id']}: {example['error']}")
    if "comparison" in summary:
        lines.extend(format_comparison(summary["comparison"]))
    return "\n".join(lines)
