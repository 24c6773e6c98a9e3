"""The comparison folder's files: names, atomic JSON writes, run status and STOP requests.

Readers (the window, a resumed driver) may open any file at any moment, so every JSON file is
written beside its target and renamed over it: a reader sees the old or the new file, never
half of one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError
from mmstudio.training.comparison.processes import pid_alive

PLAN = "plan.json"
DRIVER = "driver.json"
STOP = "STOP"
STATUS = "status.json"
METRICS = "metrics.jsonl"
TENSORBOARD = "tensorboard"
CHECKPOINT = "checkpoint"
TEST = "test.json"
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
WORKER_LOG = "worker.log"

STATES = ("pending", "running", "done", "stopped", "failed")
# Runs that --resume leaves alone once their test.json exists.
FINISHED = ("done", "stopped")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json(path: Path, data: Any) -> None:
    """Strict JSON written beside ``path`` and renamed over it."""
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    write_text(path, text)


def write_text(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".tmp")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise InputError(f"cannot write ({error.strerror or error})", path) from error


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read JSON ({error})", path) from error


@dataclass
class RunStatus:
    """status.json of one run. ``stopped_by`` is "run" (its own STOP file) or "comparison"
    (the comparison's STOP file), which decides what --resume does with a stopped run."""

    state: str = "pending"
    message: str = ""
    step: int = 0
    total_steps: int = 0
    started: str | None = None
    finished: str | None = None
    stopped_by: str | None = None

    @classmethod
    def read(cls, run_dir: Path) -> RunStatus:
        """A run without a readable status.json has not started: pending."""
        path = run_dir / STATUS
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> RunStatus:
        """The status a status.json holds; a field of the wrong type takes its default, and
        anything but a known state reads as pending."""
        if not isinstance(data, dict) or data.get("state") not in STATES:
            return cls()
        kept = {}
        for f in fields(cls):
            value, default = data.get(f.name), getattr(cls, f.name)
            if isinstance(default, int):
                ok = isinstance(value, int | float) and not isinstance(value, bool)
                kept[f.name] = int(value) if ok else default
            else:
                kept[f.name] = value if isinstance(value, str) else default
        return cls(**kept)

    @property
    def final(self) -> bool:
        """Nothing more will happen to the run in this comparison's driver."""
        return self.state in (*FINISHED, "failed")

    def write(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / STATUS, asdict(self))


def driver_running(directory: Path) -> int | None:
    """The pid of a driver still running the comparison in ``directory``, or None: driver.json
    names the driver and says whether it finished, and a driver killed outright never says so,
    hence the check that its process still exists."""
    try:
        driver = json.loads((directory / DRIVER).read_text(encoding="utf-8"))
        pid = int(driver["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if driver.get("finished") is not None or pid == os.getpid():
        return None
    return pid if pid_alive(pid) else None


def stop_requested(directory: Path, run_dir: Path) -> str | None:
    """Who asks this run to stop: "run", "comparison" or nobody (None)."""
    if (run_dir / STOP).exists():
        return "run"
    if (directory / STOP).exists():
        return "comparison"
    return None
