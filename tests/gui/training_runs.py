"""A comparison small enough to train in seconds on two busy cores, for the training studio's
tests, its stall benchmark and its screenshot: a generated dataset (printed digits, tones and
sentences: no espeak-ng) and a shrunk model (the settings the training tests use)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from mmstudio.studio_runs import TrainingSettings, pid_alive
from tests.core.analysis_data import write_dataset

TINY_MODEL = (
    "dim=32",
    "text_layers=1",
    "text_heads=2",
    "fusion_heads=2",
    "image_size=32",
    "audio_n_mels=32",
)


def small_comparison(
    folder: Path,
    *,
    fusions=("concat", "gated"),
    seeds: int = 2,
    epochs: int = 2,
    records: int = 120,
    batch_size: int = 64,
) -> TrainingSettings:
    data = write_dataset(folder / "data", count=records, broken=False)
    return TrainingSettings(
        data=str(data),
        out=str(folder / "comparison"),
        fusions=list(fusions),
        seeds=seeds,
        epochs=epochs,
        batch_size=batch_size,
        modality_dropout=0.2,
        device="cpu",
        model_settings=list(TINY_MODEL),
    )


def kill_driver(pid: int | None) -> None:
    """A test that failed half-way must not leave a detached driver training."""
    if pid is not None and pid_alive(pid):
        try:
            os.killpg(pid, signal.SIGTERM)  # the driver and the run it started
        except (ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
