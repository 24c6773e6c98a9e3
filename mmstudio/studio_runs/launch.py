"""Starting and steering a comparison from outside its driver: the settings a person chooses,
the ``mmstudio train`` command they become, the checks made before anything starts, and the
STOP files the driver obeys (CONTRACT: DIR/STOP stops all, DIR/<run>/STOP stops one run)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mmstudio.inputs.errors import InputError
from mmstudio.studio_runs.reader import PLAN

STOP = "STOP"
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class TrainingSettings:
    data: str = ""
    out: str = ""
    fusions: list[str] = field(default_factory=lambda: ["concat", "attention"])
    seeds: int = 3
    epochs: int = 20
    batch_size: int = 64
    modality_dropout: float = 0.3
    device: str = "auto"
    # Model settings as `mmstudio train --set KEY=VALUE` takes them, e.g. "dim=32"
    model_settings: list[str] = field(default_factory=list)
    resume: bool = False

    def check(self) -> None:
        """InputError saying what to change; nothing is written."""
        if not self.fusions:
            raise InputError("choose at least one fusion strategy")
        if self.seeds < 1:
            raise InputError(f"the number of seeds must be at least 1, not {self.seeds}")
        if self.epochs < 1:
            raise InputError(f"the budget must be at least 1 epoch, not {self.epochs}")
        if self.batch_size < 1:
            raise InputError(f"the batch size must be at least 1, not {self.batch_size}")
        if not 0.0 <= self.modality_dropout < 1.0:
            raise InputError(
                f"modality dropout is a probability below 1, not {self.modality_dropout}"
            )
        for item in self.model_settings:
            if "=" not in item or not item.split("=", 1)[0].strip():
                raise InputError(f"a model setting is KEY=VALUE, not {item!r}")
        check_dataset(self.data)
        check_output(self.out, resume=self.resume)

    def arguments(self) -> list[str]:
        """The arguments after ``python -m mmstudio``."""
        args = [
            "train",
            os.path.abspath(self.data),
            "--fusion",
            ",".join(self.fusions),
            "--seeds",
            str(self.seeds),
            "--epochs",
            str(self.epochs),
            "--batch-size",
            str(self.batch_size),
            "--modality-dropout",
            repr(float(self.modality_dropout)),
            "--device",
            self.device,
            "--out",
            os.path.abspath(self.out),
        ]
        for item in self.model_settings:
            args += ["--set", item]
        if self.resume:
            args.append("--resume")
        return args

    def command(self) -> list[str]:
        return [sys.executable, "-m", "mmstudio", *self.arguments()]


def check_dataset(folder: str | Path) -> None:
    """The checks `mmstudio analyze` makes (with its messages), then the ones training adds:
    a manifest with labels whose files exist."""
    if not str(folder).strip():
        raise InputError("choose a dataset folder")
    from mmstudio.datasets.records import read_records
    from mmstudio.training.manifest import read_manifest

    read_records(folder)
    manifest = read_manifest(folder)
    if manifest.has_splits and not manifest.split("train"):
        raise InputError("the dataset has no 'train' records to train with", manifest.root)


def check_output(folder: str | Path, *, resume: bool = False) -> None:
    if not str(folder).strip():
        raise InputError("choose an output folder for the comparison")
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise InputError("the output is a file, not a folder", path)
    if resume:
        if not (path / PLAN).is_file():
            raise InputError("there is no comparison here to resume", path)
    elif path.is_dir() and any(path.iterdir()):
        hint = "; tick Resume to continue it" if (path / PLAN).is_file() else ""
        raise InputError(f"the output folder is not empty{hint}", path)


def request_stop(folder: str | Path, run_dir: str | None = None) -> Path:
    """Create the STOP file for one run (``run_dir``) or, with None, for the whole comparison."""
    target = Path(folder) if run_dir is None else Path(folder) / run_dir
    target.mkdir(parents=True, exist_ok=True)
    stop = target / STOP
    stop.touch()
    return stop


def driver_log(folder: str | Path) -> Path:
    """Where the window sends a comparison driver's output: in the cache, not in the comparison
    folder, which the driver must find new or empty. One file per folder, named by its path."""
    import hashlib
    import os

    from platformdirs import user_cache_dir

    root = Path(os.environ.get("MMSTUDIO_CACHE_DIR") or user_cache_dir("mmstudio")) / "training"
    resolved = str(Path(folder).resolve())
    digest = hashlib.sha1(resolved.encode("utf-8")).hexdigest()[:16]
    return root / f"{Path(resolved).name}-{digest}.log"


def log_tail(path: str | Path, lines: int = 6) -> str:
    """The last lines of a driver's log: what it said before it failed."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return "\n".join(kept[-lines:])
