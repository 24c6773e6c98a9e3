"""Running a comparison's plan: one worker process per run, in plan order, yielding progress.

The driver writes driver.json (its pid, so a window can tell whether it still runs), starts each
run's worker, and follows it through its status.json. The comparison's STOP file stops the
running run (the worker sees it) and starts no more; a run's own STOP file stops only that run.
When every run is done or stopped the report is written.

``resume`` (``--resume``) continues an interrupted comparison: runs done (or stopped by their own
STOP file) with a test.json are kept as they are; a run stopped by the comparison's STOP
continues from its last completed epoch, as does an interrupted one; a failed run starts afresh.
A run stopped by its own STOP file is final: its stop was a decision about that run. To train
it again, delete its folder and resume.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mmstudio.training.comparison.files import (
    CHECKPOINT,
    DRIVER,
    FINISHED,
    STOP,
    TEST,
    RunStatus,
    now_iso,
    write_json,
)
from mmstudio.training.comparison.launch import start_worker, worker_command
from mmstudio.training.comparison.plan import Plan, PlannedRun

POLL_SECONDS = 0.2
TERMINATE_WAIT = 30.0


@dataclass
class DriverEvent:
    """``kind``: "progress" (``done`` of ``total`` steps over the whole comparison), "run" (a
    run started, was kept or ended: ``message`` says which), or "end" (``message`` sums up)."""

    kind: str
    done: int = 0
    total: int = 0
    run: str | None = None
    message: str = ""


def is_final(status: RunStatus, run_dir: Path) -> bool:
    """A run --resume keeps as it is."""
    if status.state == "done":
        return (run_dir / TEST).is_file()
    if status.state == "stopped" and status.stopped_by == "run":
        # Measured, or stopped before its first epoch and so without a checkpoint to measure.
        return (run_dir / TEST).is_file() or not (run_dir / CHECKPOINT / "config.json").is_file()
    return False


def drive(directory: Path, plan: Plan, *, resume: bool = False) -> Iterator[DriverEvent]:
    """Run every run of ``plan`` that needs running; see the module docstring."""
    driver = {"pid": os.getpid(), "started": now_iso(), "finished": None}
    write_json(directory / DRIVER, driver)
    if resume:
        (directory / STOP).unlink(missing_ok=True)  # resuming is asking to go on
    total = sum(run.steps for run in plan.runs)
    done = 0
    try:
        for run in plan.runs:
            run_dir = directory / run.dir
            if resume and is_final(RunStatus.read(run_dir), run_dir):
                done += run.steps
                yield DriverEvent("run", done, total, run.id, f"{run.id}: kept (already finished)")
                continue
            if (directory / STOP).exists():
                break
            yield from _run_one(directory, plan, run, done, total)
            done += run.steps
        yield DriverEvent("end", done, total, message=_summary(directory, plan))
    finally:
        driver["finished"] = now_iso()
        write_json(directory / DRIVER, driver)


def _run_one(
    directory: Path, plan: Plan, run: PlannedRun, done: int, total: int
) -> Iterator[DriverEvent]:
    run_dir = directory / run.dir
    yield DriverEvent("run", done, total, run.id, f"{run.id}: training")
    process = start_worker(worker_command(directory, run.id, plan.nproc), run_dir)
    try:
        step = -1
        while process.poll() is None:
            time.sleep(POLL_SECONDS)
            status = RunStatus.read(run_dir)
            if status.step != step and status.state == "running":
                step = status.step
                yield DriverEvent("progress", done + min(step, run.steps), total, run.id)
    finally:
        _end(process)
    status = RunStatus.read(run_dir)
    if process.returncode != 0 and status.state not in ("failed", "stopped", "pending"):
        status.state, status.finished = "failed", now_iso()
        status.message = f"the worker exited with status {process.returncode}; see worker.log"
        status.write(run_dir)
    yield DriverEvent("progress", done + run.steps, total, run.id)
    yield DriverEvent("run", done + run.steps, total, run.id, f"{run.id}: {_describe(status)}")


def _end(process: subprocess.Popen) -> None:
    """A worker still running when the driver leaves (Ctrl-C, an error) is asked to stop, so it
    keeps its completed epochs; one that does not is killed."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(TERMINATE_WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _describe(status: RunStatus) -> str:
    state = status.state if status.stopped_by is None else f"stopped by {status.stopped_by} STOP"
    return f"{state}: {status.message}" if status.message else state


def _summary(directory: Path, plan: Plan) -> str:
    """Write the report when every run is done or stopped; otherwise say what is left."""
    from mmstudio.training.comparison.report import write_report

    states = {run.id: RunStatus.read(directory / run.dir).state for run in plan.runs}
    failed = [run_id for run_id, state in states.items() if state == "failed"]
    waiting = [run_id for run_id, state in states.items() if state not in (*FINISHED, "failed")]
    if failed or waiting:
        parts = []
        if failed:
            parts.append(f"failed: {', '.join(failed)} (see their status.json and worker.log)")
        if waiting:
            parts.append(f"not finished: {', '.join(waiting)}")
        return f"{'; '.join(parts)}; --resume continues the comparison"
    paths = write_report(directory, plan)
    return f"all {len(plan.runs)} runs finished; report in {paths[1]}"
