"""One run of a comparison, in its own process: ``python -m mmstudio.training.comparison.worker
DIR RUN_ID``.

It trains the run (resuming its saved state when there is one), logs the curves, measures the
checkpoint on the test split (test.json), and keeps status.json current throughout. What it does
depends on what the run's folder already holds:

- a failed run starts afresh (its outputs are cleared; resuming it would repeat the failure);
- a run whose checkpoint is complete ("done", or stopped by its own STOP file) is only measured;
- anything else trains with the trainer's resume: from its last completed epoch if it has one
  (an interrupted run, or one the comparison's STOP stopped), from scratch otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError
from mmstudio.training.comparison.files import (
    CHECKPOINT,
    METRICS,
    TENSORBOARD,
    TEST,
    RunStatus,
    now_iso,
    read_json,
    stop_requested,
    write_json,
)
from mmstudio.training.comparison.plan import Plan, PlannedRun

# How often (in steps) status.json is rewritten between epochs.
STATUS_EVERY = 5
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m mmstudio.training.comparison.worker DIR RUN_ID", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # a driver stopping us cleans up like Ctrl-C
    from mmstudio.training.distributed import setup_from_env, teardown

    directory = Path(args[0]).resolve()
    try:
        plan = Plan.read(directory)
        run = plan.run(args[1])
        # Under torchrun (--nproc above 1) each process joins the group; alone, a world of one.
        context = setup_from_env(plan.device)
    except InputError as error:
        print(f"mmstudio: {error}", file=sys.stderr)
        return 2
    try:
        return Worker(directory, plan, run, context).run()
    finally:
        teardown(context)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


class Worker:
    """Rank 0 (or the only process) writes the run's files; the other ranks of a distributed
    run only train their slices (the trainer keeps them from writing too)."""

    def __init__(self, directory: Path, plan: Plan, run: PlannedRun, context=None):
        from mmstudio.training.distributed import SINGLE

        self.directory, self.plan, self.run_spec = directory, plan, run
        self.context = context or SINGLE
        self.run_dir = directory / run.dir
        self.status = RunStatus()
        self.summary = ""
        self.parent = os.getppid()

    def _stop(self) -> str | None:
        return stop_requested(self.directory, self.run_dir)

    def _stop_training(self) -> bool:
        """Asked after every step. A driver killed outright (SIGKILL, a crash) cannot stop its
        worker; the worker notices it was orphaned and ends as if interrupted, so a resumed
        comparison never shares the run with a worker nobody watches."""
        if os.getppid() != self.parent:
            raise KeyboardInterrupt
        return self._stop() is not None

    def run(self) -> int:
        if not self.context.is_main:
            return self._train_slice()
        previous = RunStatus.read(self.run_dir)
        if previous.state == "failed":
            clear_outputs(self.run_dir)
        self.status = RunStatus(
            "running", "starting", previous.step if previous.state != "failed" else 0,
            self.run_spec.steps, now_iso(),
        )  # fmt: skip
        self.status.write(self.run_dir)
        try:
            training = (
                self._saved_metrics() if measure_only(previous, self.run_dir) else self._train()
            )
            self.summary = self.status.message
            self._set(message="measuring on the test split")
            self.summary += f"; {self._measure(training)}"
        except InputError as error:
            stopper = self._stop()
            state = "stopped" if stopper else "failed"
            self._set(state, str(error), finished=now_iso(), stopped_by=stopper)
            return 0 if stopper else EXIT_FAILED
        except KeyboardInterrupt:
            self._set(
                "pending",
                f"interrupted at step {self.status.step}; --resume continues from its last "
                "completed epoch",
            )
            return EXIT_INTERRUPTED
        except BaseException as error:
            self._set("failed", f"{type(error).__name__}: {error}", finished=now_iso())
            raise
        stopper = self._stop() if training.get("stopped") else None
        state = "stopped" if training.get("stopped") else "done"
        self._set(state, self.summary, finished=now_iso(), stopped_by=stopper)
        return 0

    def _train_slice(self) -> int:
        """Another rank: train alongside rank 0 unless rank 0 only measures."""
        if measure_only(RunStatus.read(self.run_dir), self.run_dir):
            return 0
        try:
            for _ in self._events():
                pass
        except InputError:
            return EXIT_FAILED  # rank 0 reports it
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        return 0

    def _events(self):
        from mmstudio.training.trainer import train

        budget, spec = self.plan.budget, self.run_spec
        return train(
            self.plan.data, fusion=spec.fusion, out_dir=self.run_dir / CHECKPOINT,
            epochs=budget["epochs"], batch_size=budget["batch_size"], lr=budget["lr"],
            device=self.plan.device, seed=spec.seed, patience=budget["patience"], resume=True,
            config_overrides=self.plan.config_overrides, stop_requested=self._stop_training,
            context=self.context,
        )  # fmt: skip

    def _set(self, state: str | None = None, message: str | None = None, **changes) -> None:
        if state is not None:
            self.status.state = state
        if message is not None:
            self.status.message = message
        for name, value in changes.items():
            setattr(self.status, name, value)
        self.status.write(self.run_dir)

    def _train(self) -> dict[str, Any]:
        from mmstudio.training.comparison.metrics_log import MetricsLog

        log = MetricsLog(self.run_dir, saved_step(self.run_dir / CHECKPOINT))
        events = self._events()
        metrics: dict[str, Any] = {}
        try:
            for event in events:
                log(event)
                self.status.step = event.step
                if event.kind in ("start", "epoch"):
                    self._set(message=event.message)
                elif event.kind == "step" and event.step % STATUS_EVERY == 0:
                    self._set()
                elif event.kind == "done":
                    metrics = event.metrics or {}
                    self.status.message = event.message
        finally:
            events.close()
            log.close()
        return metrics

    def _saved_metrics(self) -> dict[str, Any]:
        return read_json(self.run_dir / CHECKPOINT / "metrics.json")

    def _measure(self, training: dict[str, Any]) -> str:
        from mmstudio.models.device import pick_device
        from mmstudio.training.comparison.measure import measure_run

        device = self.context.device if self.context.distributed else pick_device(self.plan.device)
        result = measure_run(self.run_dir / CHECKPOINT, self.plan.data, device, training)
        result.update(run=self.run_spec.id, seed=self.run_spec.seed)
        write_json(self.run_dir / TEST, result)
        overall = result["overall"]["0"]
        return "test acc " + ("-" if overall is None else f"{overall:.2%}")


def measure_only(previous: RunStatus, run_dir: Path) -> bool:
    """The run's checkpoint is complete and final: it needs only its test.json."""
    from mmstudio.training.trainer import STATE_JSON

    checkpoint = run_dir / CHECKPOINT
    final = previous.state == "done" or (
        previous.state == "stopped" and previous.stopped_by == "run"
    )
    partial = checkpoint.with_name(checkpoint.name + ".partial")
    return final and (checkpoint / "config.json").is_file() and not (partial / STATE_JSON).is_file()


def saved_step(checkpoint: Path) -> int | None:
    """The step the trainer's resume continues from (its partial folder first, as RunFolder
    chooses), or None when the run starts from scratch."""
    from mmstudio.training.trainer import STATE_JSON

    for folder in (checkpoint.with_name(checkpoint.name + ".partial"), checkpoint):
        path = folder / STATE_JSON
        if path.is_file():
            try:
                return int(json.loads(path.read_text(encoding="utf-8"))["step"])
            except (OSError, ValueError, KeyError, TypeError):
                return None  # the trainer refuses it with its own message
    return None


def clear_outputs(run_dir: Path) -> None:
    """Everything a failed attempt left, so the rerun starts from nothing."""
    checkpoint = run_dir / CHECKPOINT
    for folder in (checkpoint, checkpoint.with_name(checkpoint.name + ".partial"),
                   run_dir / TENSORBOARD):  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
    for name in (METRICS, TEST):
        (run_dir / name).unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
