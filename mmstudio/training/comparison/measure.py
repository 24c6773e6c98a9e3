"""What a finished run is worth on the test split: test.json.

Accuracy for every coalition at every corruption level and ECE come from
:func:`mmstudio.training.evaluate.evaluate`; beside them the costs a researcher weighs a strategy
by: parameters, training seconds, the worker's peak memory, and how long the studio's Analyzer
takes on one input (prediction, Shapley values and heatmaps), the wait a user sees, as
``evaluate`` measures it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

# Few: every run of a comparison pays for them, and the median of a few is steady enough.
LATENCY_RUNS = 5


def measure_run(
    checkpoint: Path, data: str | Path, device: torch.device, training: dict[str, Any]
) -> dict[str, Any]:
    """The test-split figures of the checkpoint; ``training`` is its metrics.json."""
    from mmstudio.models.checkpoint import load_checkpoint
    from mmstudio.training.evaluate import evaluate

    model = load_checkpoint(checkpoint, device)
    metrics = evaluate(model, data, split="test", device=device, latency_runs=LATENCY_RUNS)
    latency = metrics["latency_ms"]
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
        # evaluate's own measure: the median of full analyses on the CPU, what a user waits for.
        "analysis_latency_seconds": round(latency["analyze_median"] / 1000.0, 5),
        "analysis_latency_samples": latency["runs"],
        "analysis_latency_device": latency["device"],
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
