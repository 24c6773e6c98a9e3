"""The ``comparison`` section of a summary, for results written with a second model
(``--compare``): how often the two agree, each one's accuracy overall and per class, which
records only one gets right, how each relies on the modalities, and the second model's accuracy
for every coalition of its modalities.

Every figure counts the records *both* models analysed, so the two accuracies are over the same
records and their difference means something. Like the main summary, it is accumulated one
Arrow batch at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmstudio.datasets.compare import AGREE, ERROR, PREFIX, comparison_of
from mmstudio.datasets.figures import list_matrix, percent, ratio, to_numpy
from mmstudio.datasets.results_metadata import layout_of


def comparison_builder(schema: pa.Schema) -> ComparisonBuilder | None:
    """A builder for ``schema``'s rows, or None when the file compares no second model."""
    info = layout_of(schema)
    second = comparison_of(info)
    return None if second is None else ComparisonBuilder(info, second)


class ComparisonBuilder:
    def __init__(self, info: dict[str, Any], second: dict[str, Any]):
        self.model: str = info.get("model", "")
        self.second = second
        self.labels: list[str] = info.get("labels", [])
        self.modalities: list[str] = info.get("modalities", [])
        self.second_modalities: list[str] = second.get("modalities", [])
        self.coalitions: list[str] = second.get("coalitions", [])
        classes = len(self.labels)
        self.compared = self.agreed = 0
        # Per class of the label: records, right by A, right by B.
        self.per_class = np.zeros((3, classes), dtype=np.int64)
        self.outcomes = np.zeros(4, dtype=np.int64)  # both right, only A, only B, both wrong
        self.counts = {
            "label": np.zeros(classes, np.int64),
            "prediction": np.zeros(classes, np.int64),
        }
        self.shares = {
            key: (
                np.zeros((classes, len(self.modalities))),
                np.zeros((classes, len(self.second_modalities))),
            )
            for key in self.counts
        }
        self.coalition_counts = np.zeros((2, len(self.coalitions)), dtype=np.int64)
        self._members = np.array(
            [[m in name.split("+") for m in self.second_modalities] for name in self.coalitions],
            dtype=bool,
        ).reshape(len(self.coalitions), len(self.second_modalities))

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        both = to_numpy(pc.and_(pc.is_null(batch.column("error")), pc.is_null(batch.column(ERROR))))
        if not both.any():
            return
        self.compared += int(both.sum())
        self.agreed += int(to_numpy(batch.column(AGREE).fill_null(False))[both].sum())
        predicted = to_numpy(batch.column("predicted_index").fill_null(-1))[both]
        second = to_numpy(batch.column(f"{PREFIX}predicted_index").fill_null(-1))[both]
        labels = to_numpy(batch.column("label_index").fill_null(-1))[both]
        shares_a, _ = _shares(batch, self.modalities, "shapley_", both)
        shares_b, present_b = _shares(batch, self.second_modalities, f"{PREFIX}shapley_", both)
        self._add_reliance("prediction", predicted, shares_a, shares_b)
        known = labels >= 0
        if not known.any():
            return
        labels, right_a, right_b = (
            labels[known],
            (predicted == labels)[known],
            (second == labels)[known],
        )
        self._add_reliance("label", labels, shares_a[known], shares_b[known])
        np.add.at(self.per_class[0], labels, 1)
        np.add.at(self.per_class[1], labels, right_a)
        np.add.at(self.per_class[2], labels, right_b)
        self.outcomes += [
            int((right_a & right_b).sum()),
            int((right_a & ~right_b).sum()),
            int((~right_a & right_b).sum()),
            int((~right_a & ~right_b).sum()),
        ]
        coalitions = list_matrix(
            batch.column(f"{PREFIX}coalition_predictions").filter(pa.array(both))
        )[known]
        valid = ~(self._members[None] & ~present_b[known][:, None]).any(-1)
        self.coalition_counts[0] += valid.sum(0)
        self.coalition_counts[1] += ((coalitions == labels[:, None]) & valid).sum(0)

    def _add_reliance(self, key: str, classes, shares_a, shares_b) -> None:
        np.add.at(self.counts[key], classes, 1)
        np.add.at(self.shares[key][0], classes, shares_a)
        np.add.at(self.shares[key][1], classes, shares_b)

    def result(self) -> dict[str, Any]:
        count, right_a, right_b = self.per_class
        labelled = int(count.sum())
        by = "label" if labelled else "prediction"
        both, only_a, only_b, neither = (int(n) for n in self.outcomes)
        return {
            "model": self.model,
            "compare_model": self.second.get("model", ""),
            "compare_model_fingerprint": self.second.get("model_fingerprint", ""),
            "compare_modalities": self.second_modalities,
            "compared": self.compared,
            "agreed": self.agreed,
            "agreement": ratio(self.agreed, self.compared),
            "labelled": labelled,
            "accuracy": ratio(right_a.sum(), labelled),
            "compare_accuracy": ratio(right_b.sum(), labelled),
            "both_right": both,
            "only_model_right": only_a,
            "only_compare_right": only_b,
            "both_wrong": neither,
            "per_class": {
                label: _class_entry(count[i], right_a[i], right_b[i])
                for i, label in enumerate(self.labels)
            },
            "reliance_by": by,
            "reliance": {
                label: {
                    "count": int(self.counts[by][i]),
                    "shapley_share": _mean_shares(
                        self.shares[by][0][i], self.counts[by][i], self.modalities
                    ),
                    "compare_shapley_share": _mean_shares(
                        self.shares[by][1][i], self.counts[by][i], self.second_modalities
                    ),
                }
                for i, label in enumerate(self.labels)
            },
            "compare_coalitions": {
                name: {
                    "count": int(self.coalition_counts[0, k]),
                    "accuracy": ratio(self.coalition_counts[1, k], self.coalition_counts[0, k]),
                }
                for k, name in enumerate(self.coalitions)
            },
        }


def _class_entry(count, right_a, right_b) -> dict[str, Any]:
    first, second = ratio(right_a, count), ratio(right_b, count)
    return {
        "count": int(count),
        "accuracy": first,
        "compare_accuracy": second,
        "difference": None if first is None else second - first,
    }


def _shares(batch, modalities: list[str], prefix: str, rows: np.ndarray):
    """Per chosen row: each modality's share of the absolute Shapley values (absent: 0), and
    which modalities the model saw (a Shapley value is null exactly when it did not)."""
    if not modalities:
        empty = np.zeros((int(rows.sum()), 0))
        return empty, empty.astype(bool)
    columns = [batch.column(f"{prefix}{m}") for m in modalities]
    present = np.stack([to_numpy(pc.is_valid(c)) for c in columns], 1)[rows]
    magnitude = np.abs(np.stack([to_numpy(c.fill_null(0.0)) for c in columns], 1)[rows])
    total = magnitude.sum(1, keepdims=True)
    shares = np.divide(magnitude, total, out=np.zeros_like(magnitude), where=total > 0)
    return shares, present


def _mean_shares(sums: np.ndarray, count, modalities: list[str]) -> dict[str, float | None]:
    return {m: ratio(sums[j], count) for j, m in enumerate(modalities)}


def format_comparison(comparison: dict[str, Any]) -> list[str]:
    """The comparison section as the lines the command line prints."""
    a, b = comparison["model"] or "A", comparison["compare_model"] or "B"
    lines = [
        f"Compared with {b} on {comparison['compared']} records both analysed: "
        f"they agree on {percent(comparison['agreement'])} "
        f"({comparison['compared'] - comparison['agreed']} disagreements)",
    ]
    if comparison["accuracy"] is not None:
        lines.append(
            f"Accuracy {a} {percent(comparison['accuracy'])}, {b} "
            f"{percent(comparison['compare_accuracy'])}; only {a} right "
            f"{comparison['only_model_right']}, only {b} right {comparison['only_compare_right']}"
        )
        lines.append(
            f"Per class ({a} / {b}): "
            + ", ".join(
                f"{label} {percent(e['accuracy'])}/{percent(e['compare_accuracy'])}"
                for label, e in comparison["per_class"].items()
                if e["count"]
            )
        )
        lines.append(
            f"{b} accuracy by coalition: "
            + ", ".join(
                f"{name} {percent(e['accuracy'])}"
                for name, e in comparison["compare_coalitions"].items()
                if e["count"]
            )
        )
    lines.append(f"Mean Shapley share, {a} | {b}, by {comparison['reliance_by']}:")
    for label, entry in comparison["reliance"].items():
        if entry["count"]:
            first = ", ".join(f"{m} {percent(v)}" for m, v in entry["shapley_share"].items())
            second = ", ".join(
                f"{m} {percent(v)}" for m, v in entry["compare_shapley_share"].items()
            )
            lines.append(f"  {label:<10} {first} | {second}")
    return lines
