"""A run's curves, written as the trainer's events arrive: metrics.jsonl and TensorBoard.

metrics.jsonl gets an "eval" line per epoch (the epoch event's metrics) and a "train" line every
``every`` steps and at each epoch's last step, holding the mean loss of the steps since the
previous one (so a short epoch still draws a loss curve); each line is flushed at once, so the
window reading the file sees it. TensorBoard gets the same scalars, so its own tools open the
runs too. A resumed run first drops what was logged after its saved state (the epoch it lost):
lines past that step from metrics.jsonl, and events past it through SummaryWriter's purge_step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmstudio.training.comparison.files import METRICS, TENSORBOARD, write_text

TRAIN_EVERY = 10


class MetricsLog:
    """Consumes TrainEvents (call it with each one); close() when the run ends."""

    def __init__(self, run_dir: Path, resume_step: int | None, every: int = TRAIN_EVERY):
        from torch.utils.tensorboard import SummaryWriter

        self.path = run_dir / METRICS
        self.every = every
        if resume_step is None:
            self.path.unlink(missing_ok=True)
        else:
            _keep_until(self.path, resume_step)
        purge = None if resume_step is None else resume_step + 1
        self.writer = SummaryWriter(str(run_dir / TENSORBOARD), purge_step=purge)
        self.file = self.path.open("a", encoding="utf-8")
        self.losses: list[float] = []
        self.last_step = None

    def __call__(self, event) -> None:
        if event.kind == "step" and event.batch_loss is not None:
            self.losses.append(event.batch_loss)
            self.last_step = event
            if event.step % self.every == 0:
                self._train_line(event)
        elif event.kind == "epoch" and event.metrics is not None:
            if self.losses and self.last_step is not None:
                self._train_line(self.last_step)
            self._eval_line(event.metrics)

    def _train_line(self, event) -> None:
        line = {
            "kind": "train",
            "step": event.step,
            "epoch": event.epoch,
            "train_loss": sum(self.losses) / len(self.losses),
            "lr": event.lr,
            "wall_seconds": event.wall_seconds,
        }
        self.losses.clear()
        self._write(line)
        self.writer.add_scalar("train/loss", line["train_loss"], event.step)
        self.writer.add_scalar("train/lr", event.lr, event.step)

    def _eval_line(self, metrics: dict[str, Any]) -> None:
        self._write(metrics)
        step = metrics["step"]
        scalars = {
            "train/epoch_loss": metrics["train_loss"],
            "train/accuracy": metrics["train_accuracy"],
            "val/accuracy": metrics["val_accuracy"],
            "val/score": metrics["val_score"],
            **{f"val/{name}": value for name, value in metrics["val_subsets"].items()},
        }
        for tag, value in scalars.items():
            if value is not None:  # a coalition the data lacks has no curve
                self.writer.add_scalar(tag, value, step)
        self.writer.flush()

    def _write(self, line: dict[str, Any]) -> None:
        self.file.write(json.dumps(line, allow_nan=False) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()
        self.writer.close()


def _keep_until(path: Path, step: int) -> None:
    """Drop the lines logged after ``step``: the resumed run logs them again."""
    if not path.is_file():
        return
    kept = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(text)["step"] <= step:
                kept.append(text + "\n")
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a killed worker
    write_text(path, "".join(kept))
