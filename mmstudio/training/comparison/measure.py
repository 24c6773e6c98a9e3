"""What a finished run is worth on the test split: test.json.

Accuracy for every coalition at every corruption level and ECE come from
:func:`mmstudio.training.evaluate.evaluate`; beside them the costs a researcher weighs a strategy
by: parameters, training seconds, the worker's peak memory, and how long the studio's Analyzer
takes on one input (prediction, Shapley values and heatmaps), the wait a user sees.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

LATENCY_SAMPLES = 3


def measure_run(
    checkpoint: Path, data: str | Path, device: torch.device, training: dict[str, Any]
) -> dict[str, Any]:
    """The test-split figures of the checkpoint; ``training`` is its metrics.json."""
    from mmstudio.models.checkpoint import load_checkpoint
    from mmstudio.training.evaluate import evaluate

    model = load_checkpoint(checkpoint, device)
    metrics = evaluate(model, data, split="test", device=device, latency_runs=0)
    return {
        "fusion": metrics["fusion"],
        "count": metrics["count"],
        "levels": metrics["levels"],
        "subsets": metrics["subsets"],
        "overall": metrics["overall"],
        "accuracy": metrics["accuracy"],
        "ece": metrics["ece"],
        "ece_clean": metrics["ece_clean"],
        "nll": metrics["nll"],
        "temperature": metrics["temperature"],
        "params": metrics["params"],
        "train_seconds": training.get("train_seconds"),
        "epochs": training.get("epochs"),
        "best_epoch": training.get("best_epoch"),
        "steps": training.get("steps"),
        "stopped_early": training.get("stopped_early"),
        "stopped": training.get("stopped"),
        "peak_memory_mib": peak_memory_mib(device),
        "peak_memory_source": "cuda" if device.type == "cuda" else "ru_maxrss",
        **analysis_latency(model, data),
    }


def peak_memory_mib(device: torch.device) -> float | None:
    """The GPU's peak allocation on CUDA, else the worker process's peak resident memory."""
    if device.type == "cuda":
        return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    try:
        import resource
    except ImportError:  # Windows has no getrusage
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def analysis_latency(model, data: str | Path, samples: int = LATENCY_SAMPLES) -> dict[str, Any]:
    """Median seconds of one Analyzer.analyze on the first few clean test inputs, on the CPU
    (what a user without a GPU waits for), after one untimed call that warms the caches."""
    from mmstudio.analysis import Analyzer
    from mmstudio.training.data import MediaCache, RecordDataset, split_records
    from mmstudio.training.manifest import read_manifest

    records = split_records(read_manifest(data), "test")[:samples]
    dataset = RecordDataset(
        records, model.labels, level=0, cache=MediaCache(model.config.audio_sample_rate)
    )
    inputs = [dataset[i][0] for i in range(len(dataset))]
    analyzer = Analyzer(model, "cpu", explain=True)
    analyzer.analyze(inputs[0])
    times = []
    for sample in inputs:
        started = time.perf_counter()
        analyzer.analyze(sample)
        times.append(time.perf_counter() - started)
    return {
        "analysis_latency_seconds": round(statistics.median(times), 5),
        "analysis_latency_samples": len(times),
        "analysis_latency_device": "cpu",
    }
