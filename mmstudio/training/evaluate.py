"""Held-out evaluation of a fusion model: every modality subset at every corruption level.

Encoders run once per batch and the fusion head scores all seven non-empty modality subsets
in one call (the Analyzer's coalition trick), so the whole table costs about one forward pass
per corruption level.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch

from mmstudio import MODALITIES
from mmstudio.inputs.errors import InputError
from mmstudio.models.device import pick_device
from mmstudio.timing import timed_ms
from mmstudio.training.corruption import CORRUPTION_LEVELS
from mmstudio.training.data import MediaCache, RecordDataset, make_loader, split_records
from mmstudio.training.manifest import read_manifest
from mmstudio.training.run_folder import check_parents

ECE_BINS = 15
LATENCY_RUNS = 30
LATENCY_WARMUP = 3


def _subset_masks() -> tuple[list[str], torch.Tensor]:
    """The non-empty modality subsets, singles first and the full set last."""
    count = len(MODALITIES)
    rows = [[bool(code >> i & 1) for i in range(count)] for code in range(1, 2**count)]
    rows.sort(key=lambda row: (sum(row), [not v for v in row]))
    names = ["+".join(m for m, on in zip(MODALITIES, row, strict=True) if on) for row in rows]
    return names, torch.tensor(rows, dtype=torch.bool)


SUBSETS, SUBSET_MASKS = _subset_masks()
FULL = SUBSETS[-1]
# The full subset's logits are each record's prediction from every modality it has: the model
# narrows a coalition to the modalities present. Calibration and confusion use them, so they
# cover every record, also in datasets where a modality never appears.
ALL_INPUTS = -1


@torch.no_grad()
def collect_logits(
    model, loader, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits (N, S, C) for every subset in SUBSETS, labels (N,), and presence (N, M)."""
    model.eval()
    masks = SUBSET_MASKS.to(device)
    logits, labels, present = [], [], []
    for batch, target, _ in loader:
        batch = batch.to(device)
        encoded = model.encode(batch)
        output = model.fuse(encoded, masks.unsqueeze(0).expand(len(target), -1, -1))
        logits.append(output.logits.float().cpu())
        labels.append(target)
        present.append(batch.present.cpu())
    return torch.cat(logits), torch.cat(labels), torch.cat(present)


def subset_validity(present: torch.Tensor) -> torch.Tensor:
    """(N, S): a record counts for a subset only if it has every modality of the subset."""
    needed = SUBSET_MASKS.unsqueeze(0)
    return (~needed | present.unsqueeze(1)).all(-1)


def subset_accuracy(
    logits: torch.Tensor, labels: torch.Tensor, present: torch.Tensor
) -> dict[str, float | None]:
    correct = logits.argmax(-1) == labels.unsqueeze(1)
    valid = subset_validity(present)
    result: dict[str, float | None] = {}
    for s, name in enumerate(SUBSETS):
        n = int(valid[:, s].sum())
        result[name] = float(correct[valid[:, s], s].float().mean()) if n else None
    return result


def mean_or_none(hits: torch.Tensor) -> float | None:
    return float(hits.float().mean()) if len(hits) else None


def expected_calibration_error(
    probabilities: torch.Tensor, labels: torch.Tensor, bins: int = ECE_BINS
) -> float:
    """Equal-width confidence bins; the gap between confidence and accuracy, weighted by bin size."""
    if len(labels) == 0:
        return float("nan")
    confidence, predicted = probabilities.max(-1)
    correct = (predicted == labels).float()
    edges = torch.linspace(0, 1, bins + 1)
    # Bin k holds confidences in (edges[k], edges[k+1]]; a confidence of exactly 0 joins bin 0.
    which = (torch.bucketize(confidence, edges[1:-1], right=False)).clamp(0, bins - 1)
    ece = 0.0
    for k in range(bins):
        inside = which == k
        if inside.any():
            gap = (correct[inside].mean() - confidence[inside].mean()).abs()
            ece += float(gap) * int(inside.sum()) / len(labels)
    return ece


def confusion_matrix(
    predicted: torch.Tensor, labels: torch.Tensor, classes: int
) -> list[list[int]]:
    """Rows are true labels, columns predictions."""
    matrix = torch.zeros(classes, classes, dtype=torch.long)
    matrix.index_put_((labels, predicted), torch.ones_like(labels), accumulate=True)
    return matrix.tolist()


def evaluate(
    model,
    manifest_dir: str | Path,
    *,
    split: str = "test",
    levels: Sequence[int] = CORRUPTION_LEVELS,
    batch_size: int = 128,
    device: str | torch.device | None = "auto",
    json_path: str | Path | None = None,
    seed: int = 0,
    latency_runs: int = LATENCY_RUNS,
) -> dict[str, Any]:
    """Accuracy per modality subset and corruption level, calibration, confusion, size and speed.

    ``seed`` fixes the corruptions (and, for a manifest without splits, the split); the
    trainer uses the same default, so a model is scored on records it did not train on.
    """
    if batch_size < 1:
        raise InputError(f"the batch size must be at least 1, not {batch_size}")
    if json_path is not None:
        check_writable(Path(json_path))  # before the evaluation, not after it
    device = device if isinstance(device, torch.device) else pick_device(device)
    manifest = read_manifest(manifest_dir)
    records = _checked_records(model, manifest, split, seed)
    model = model.to(device).eval()
    cache = MediaCache(model.config.audio_sample_rate)
    started = time.perf_counter()
    by_level, confusion = _score_levels(model, records, levels, batch_size, device, seed, cache)
    evaluation_seconds = time.perf_counter() - started
    labels = list(model.labels)
    metrics = {
        "model": getattr(model, "name", type(model).__name__),
        "fusion": model.config.fusion,
        "data": str(manifest.root),
        "split": split,
        "count": len(records),
        "labels": labels,
        "levels": [int(level) for level in levels],
        "subsets": list(SUBSETS),
        "accuracy": {level: entry["accuracy"] for level, entry in by_level.items()},
        # Each record read with every input it has: the one number a dataset without some
        # modality still gets (its full subset is empty there).
        "overall": {level: entry["overall"] for level, entry in by_level.items()},
        "ece": {level: entry["ece"] for level, entry in by_level.items()},
        "nll": {level: entry["nll"] for level, entry in by_level.items()},
        "ece_clean": by_level.get("0", {}).get("ece"),
        "ece_bins": ECE_BINS,
        "confusion_matrix": confusion,
        "params": model.parameter_count(),
        "temperature": model.config.temperature,
        "evaluation_seconds": round(evaluation_seconds, 1),
        "latency_ms": measure_latency(model, records[0], cache, runs=latency_runs),
    }
    model.to(device)
    if json_path is not None:
        write_json(metrics, json_path)
    return metrics


def _checked_records(model, manifest, split: str, seed: int) -> list:
    records = split_records(manifest, split, seed)
    if not records:
        raise InputError(f"the dataset has no records in the '{split}' split", manifest.root)
    unknown = sorted(set(manifest.labels) - set(model.labels))
    if unknown:
        raise InputError(
            f"the model does not know the dataset's labels {', '.join(unknown)}", manifest.root
        )
    return records


def _score_levels(model, records, levels, batch_size, device, seed, cache):
    """Metrics per level, and the clean all-three confusion matrix."""
    by_level: dict[str, dict[str, Any]] = {}
    confusion = None
    for level in levels:
        dataset = RecordDataset(records, model.labels, level=level, seed=seed, cache=cache)
        loader = make_loader(dataset, model, batch_size, shuffle=False)
        logits, target, present = collect_logits(model, loader, device)
        by_level[str(level)] = _level_metrics(logits, target, present)
        if level == 0:
            predicted = logits[:, ALL_INPUTS].argmax(-1)
            confusion = confusion_matrix(predicted, target, len(model.labels))
    return by_level, confusion


def _level_metrics(
    logits: torch.Tensor, target: torch.Tensor, present: torch.Tensor
) -> dict[str, Any]:
    every_input = logits[:, ALL_INPUTS]
    return {
        "accuracy": subset_accuracy(logits, target, present),
        "overall": mean_or_none(every_input.argmax(-1) == target),
        "ece": expected_calibration_error(every_input.softmax(-1), target),
        "nll": float(torch.nn.functional.cross_entropy(every_input, target)),
    }


def measure_latency(
    model, record, cache: MediaCache, *, runs: int = LATENCY_RUNS
) -> dict[str, Any]:
    """Median wall time of one full analysis (prediction, Shapley, heatmaps) on the CPU.

    The CPU rather than the evaluation device: that is what a user without a GPU waits
    for, and the number the design's "fast enough for live use" promise is about.
    """
    from mmstudio.analysis import Analyzer

    sample = RecordDataset([record], [record.label], level=0, cache=cache)[0][0]
    result: dict[str, Any] = {"device": "cpu", "threads": torch.get_num_threads(), "runs": runs}
    for key, explain in (("analyze", True), ("predict", False)):
        analyzer = Analyzer(model, "cpu", explain=explain)
        times = timed_ms(partial(analyzer.analyze, sample), runs, warmup=LATENCY_WARMUP)
        result[f"{key}_median"] = round(statistics.median(times), 2)
    return result


def check_writable(path: Path) -> None:
    if path.is_dir():
        raise InputError("this is a folder; --json takes the path of a file to write", path)
    check_parents(path)


def write_json(metrics: dict[str, Any], path: str | Path) -> Path:
    """Write strict JSON beside the target and rename, so no half-written file is left."""
    path = Path(path)
    check_writable(path)
    text = json.dumps(metrics, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InputError(f"cannot write the metrics ({error.strerror or error})", path) from error
    return path


def _percent(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:6.2f}"


def format_report(metrics: dict[str, Any]) -> str:
    """A plain-text summary: the accuracy table, calibration, size, speed and confusion."""
    levels = [str(level) for level in metrics["levels"]]
    width = max(len(name) for name in metrics["subsets"]) + 2
    lines = [
        f"{metrics['model']} ({metrics['fusion']} fusion) on {metrics['count']} "
        f"'{metrics['split']}' records of {metrics['data']}",
        "",
        "accuracy (%) by modality subset and corruption level",
        " " * width + "".join(f"  level {level}" for level in levels),
    ]
    for name in metrics["subsets"]:
        cells = "".join(f"   {_percent(metrics['accuracy'][level][name])}" for level in levels)
        lines.append(f"{name:<{width}}{cells}")
    ece = "".join(f"   {metrics['ece'][level]:6.3f}" for level in levels)
    lines += [f"{'ECE (all inputs)':<{width}}{ece}", ""]
    latency = metrics.get("latency_ms") or {}
    lines.append(f"temperature {metrics['temperature']:.3f}   parameters {metrics['params']:,}")
    if latency:
        lines.append(
            f"CPU latency at batch 1 ({latency['threads']} threads, median of {latency['runs']}): "
            f"full analysis {latency['analyze_median']:.1f} ms, prediction only {latency['predict_median']:.1f} ms"
        )
    if metrics.get("confusion_matrix"):
        lines += [
            "",
            "confusion matrix, every input of each record, clean (rows: true, columns: predicted)",
        ]
        lines += _format_confusion(metrics["confusion_matrix"], metrics["labels"])
    return "\n".join(lines)


def _format_confusion(matrix: list[list[int]], labels: list[str]) -> list[str]:
    cell = max(
        4,
        max(len(str(v)) for row in matrix for v in row) + 1,
        max(len(label) for label in labels) + 1,
    )
    head = max(len(label) for label in labels) + 1
    lines = [" " * head + "".join(f"{label:>{cell}}" for label in labels)]
    for label, row in zip(labels, matrix, strict=True):
        lines.append(f"{label:<{head}}" + "".join(f"{v:>{cell}}" for v in row))
    return lines
