"""What a comparison folder says while its driver writes it (CONTRACT: plan.json, driver.json,
each run's status.json and metrics.jsonl, report.json), read a little at a time.

:meth:`ComparisonReader.poll` is cheap enough to call twice a second from a window's event
loop: the plan is read once, a status file only when its size or time changed, and each
metrics file from where the last poll stopped (:class:`JsonLinesTail`). No Qt here: the window
polls with a timer, a benchmark or a test can poll in a loop.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from mmstudio.studio_runs.bands import Band, band
from mmstudio.studio_runs.tail import JsonLinesTail
from mmstudio.training.comparison.files import DRIVER, METRICS, PLAN, STATUS, RunStatus
from mmstudio.training.comparison.files import REPORT_JSON as REPORT
from mmstudio.training.comparison.plan import PlannedRun
from mmstudio.training.comparison.processes import pid_alive

# Metric names the window plots: the loss of the "train" lines (else of the evaluations), the
# overall validation accuracy, and one per coalition (SUBSET_PREFIX + its name).
LOSS = "train_loss"
VAL_ACCURACY = "val_accuracy"
# What the trainer keeps its best checkpoint by (validation over clean and corrupted inputs).
VAL_SCORE = "val_score"
SUBSET_PREFIX = "val_subsets/"
_EVAL_LOSS = "eval/train_loss"


@dataclass(frozen=True)
class ComparisonProgress:
    done_steps: int
    total_steps: int
    eta_seconds: float | None  # None until a step is done, 0 once finished
    finished: bool

    @property
    def fraction(self) -> float:
        return self.done_steps / self.total_steps if self.total_steps else 0.0


@dataclass
class PollResult:
    """What changed in one poll."""

    plan_loaded: bool = False
    new_points: dict[str, int] = field(default_factory=dict)  # run id -> metric lines read
    status_changed: set[str] = field(default_factory=set)
    finished: bool = False  # the comparison finished in this poll

    @property
    def changed(self) -> bool:
        return self.plan_loaded or bool(self.new_points or self.status_changed) or self.finished


class ComparisonReader:
    """``pid``: the driver's process id when the caller started it, known before driver.json
    is written (a driver that fails at once, on bad arguments, writes none)."""

    def __init__(self, folder: str | Path, pid: int | None = None) -> None:
        self.folder = Path(folder)
        self.pid = pid
        self.plan: dict | None = None
        self.runs: list[PlannedRun] = []
        self.status: dict[str, RunStatus] = {}
        self.driver: dict = {}
        self.report: dict | None = None
        self.coalitions: list[str] = []  # in the order the metrics lines give them
        self._series: dict[str, dict[str, dict[int, float]]] = {}
        self._tails: dict[str, JsonLinesTail] = {}
        self._stamps: dict[Path, tuple[int, int]] = {}
        self._finished = False

    # Reading

    def poll(self) -> PollResult:
        result = PollResult()
        if self.plan is None:
            self.plan = _read_json(self.folder / PLAN)
            if self.plan is None:
                self._check_finished(result)
                return result
            self._adopt_plan(self.plan)
            result.plan_loaded = True
        driver = self._read_if_changed(self.folder / DRIVER)
        if driver is not None:
            self.driver = driver
        for run in self.runs:
            folder = self.folder / run.dir
            status = self._read_if_changed(folder / STATUS)
            if status is not None:
                self.status[run.id] = RunStatus.from_dict(status)
                result.status_changed.add(run.id)
            tail = self._tails[run.id]
            lines = tail.read_new()
            if tail.restarted:
                self._series[run.id] = {}
            if lines:
                self._add_lines(run.id, lines)
                result.new_points[run.id] = len(lines)
        self._check_finished(result)
        return result

    def _check_finished(self, result: PollResult) -> None:
        if not self._finished and self._is_finished():
            self._finished = result.finished = True
            self.report = _read_json(self.folder / REPORT)

    def _adopt_plan(self, plan: dict) -> None:
        self.runs = [
            PlannedRun(
                str(r["id"]),
                str(r["fusion"]),
                int(r["seed"]),
                str(r.get("dir", r["id"])),
                int(r.get("steps") or self.steps_per_run),
            )
            for r in plan.get("runs", [])
        ]
        for run in self.runs:
            self.status.setdefault(run.id, RunStatus(total_steps=self.steps_per_run))
            self._series[run.id] = {}
            self._tails[run.id] = JsonLinesTail(self.folder / run.dir / METRICS)

    def _read_if_changed(self, path: Path) -> dict | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._stamps.get(path) == stamp:
            return None
        value = _read_json(path)
        if value is not None:  # a file caught mid-rename is read again next time
            self._stamps[path] = stamp
        return value

    def _add_lines(self, run_id: str, lines: list[dict]) -> None:
        series = self._series[run_id]
        for line in lines:
            step = line.get("step")
            if not isinstance(step, int):
                continue
            if line.get("kind", "eval") == "train":
                _put(series, LOSS, step, line.get("train_loss"))
                continue
            _put(series, _EVAL_LOSS, step, line.get("train_loss"))
            _put(series, VAL_ACCURACY, step, line.get("val_accuracy"))
            _put(series, VAL_SCORE, step, line.get("val_score"))
            subsets = line.get("val_subsets") or {}
            if isinstance(subsets, Mapping):
                for name, value in subsets.items():
                    if name not in self.coalitions:
                        self.coalitions.append(name)
                    _put(series, SUBSET_PREFIX + name, step, value)

    # What was read

    @property
    def fusions(self) -> list[str]:
        return list(dict.fromkeys(run.fusion for run in self.runs))

    @property
    def steps_per_run(self) -> int:
        budget = (self.plan or {}).get("budget") or {}
        return int(budget.get("steps") or 0)

    def runs_of(self, fusion: str) -> list[PlannedRun]:
        return [run for run in self.runs if run.fusion == fusion]

    def series(self, run_id: str, metric: str) -> dict[int, float]:
        series = self._series.get(run_id, {})
        if metric == LOSS and LOSS not in series:
            metric = _EVAL_LOSS  # a driver that writes no "train" lines: the epochs' losses
        return series.get(metric, {})

    def band(self, fusion: str, metric: str) -> Band:
        return band([self.series(run.id, metric) for run in self.runs_of(fusion)])

    def bands(self, metric: str) -> dict[str, Band]:
        return {fusion: self.band(fusion, metric) for fusion in self.fusions}

    @property
    def driver_pid(self) -> int | None:
        pid = self.driver.get("pid")
        return pid if isinstance(pid, int) and pid > 0 else self.pid

    @property
    def finished(self) -> bool:
        return self._finished

    def _is_finished(self) -> bool:
        if self.driver.get("finished") or (self.folder / REPORT).is_file():
            return True
        # A driver that died without saying so: nothing will change any more.
        pid = self.driver_pid
        return pid is not None and not pid_alive(pid)

    def progress(self, now: float | None = None) -> ComparisonProgress:
        """Steps done over the whole comparison; a run that ended early (stopped, failed, or
        stopped early on validation) counts as all its steps, since none of them remain."""
        done = total = 0
        for run in self.runs:
            status = self.status.get(run.id, RunStatus())
            steps = status.total_steps or self.steps_per_run
            total += steps
            done += steps if status.final else min(status.step, steps)
        if self._finished:
            return ComparisonProgress(total, total, 0.0, True)
        eta = None
        started = _timestamp(self.driver.get("started"))
        if done and started is not None:
            elapsed = (time.time() if now is None else now) - started
            eta = max(0.0, elapsed * (total - done) / done)
        return ComparisonProgress(done, total, eta, False)


def _put(series: dict[str, dict[int, float]], metric: str, step: int, value) -> None:
    if isinstance(value, int | float) and math.isfinite(value):
        series.setdefault(metric, {})[step] = float(value)


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _timestamp(text) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None
