"""The equal budget of a comparison, and stopping a run on request, in this process.

Every strategy trained with one seed must take the same optimiser steps over the same records
in the same order; another seed must change the order. A run asked to stop ends like an early
stop, with its best completed epoch saved, or fails saying nothing was saved when no epoch
completed. Datasets: a dozen 8x8 images and one-word texts; models shrunk to dim 16.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import require_module

torch = require_module("torch")

from mmstudio.models.checkpoint import load_checkpoint  # noqa: E402
from mmstudio.training.comparison import metrics_log  # noqa: E402
from mmstudio.training.comparison.driver import is_final  # noqa: E402
from mmstudio.training.comparison.files import RunStatus  # noqa: E402
from mmstudio.training.comparison.plan import Budget, make_plan  # noqa: E402
from mmstudio.training.comparison.worker import Worker  # noqa: E402
from mmstudio.training.data import RecordDataset  # noqa: E402
from mmstudio.training.run_folder import PARTIAL_SUFFIX  # noqa: E402
from mmstudio.training.trainer import RunFailed, train  # noqa: E402
from tests.badinput.cases_training import TINY, dataset  # noqa: E402

EPOCHS, BATCH = 2, 2  # 8 train records: 4 steps an epoch


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return dataset(tmp_path_factory.mktemp("comparison-budget"))


def _train(data: Path, out: Path, fusion: str, seed: int, **options):
    return train(
        data, fusion=fusion, out_dir=out, epochs=EPOCHS, batch_size=BATCH, device="cpu",
        seed=seed, config_overrides=TINY, **options,
    )  # fmt: skip


def _order_per_step(monkeypatch, data: Path, out: Path, fusion: str, seed: int):
    """The record ids each optimiser step trained on, and the step count."""
    drawn: list[str] = []
    original = RecordDataset.__getitem__

    def recording(self, i):
        if self.level is None:  # training mode, not validation
            drawn.append(self.records[i].id)
        return original(self, i)

    monkeypatch.setattr(RecordDataset, "__getitem__", recording)
    steps = []
    for event in _train(data, out, fusion, seed):
        if event.kind == "step":
            steps.append(tuple(drawn))
            drawn.clear()
    monkeypatch.setattr(RecordDataset, "__getitem__", original)
    return steps


def test_every_strategy_gets_the_same_steps_and_data_order_per_seed(monkeypatch, data, tmp_path):
    orders = {
        (fusion, seed): _order_per_step(monkeypatch, data, tmp_path / f"{fusion}{seed}", fusion,
                                        seed)
        for fusion in ("concat", "late")
        for seed in (0, 1)
    }  # fmt: skip
    assert {len(steps) for steps in orders.values()} == {EPOCHS * 4}
    assert all(len(batch) == BATCH for steps in orders.values() for batch in steps)
    assert orders["concat", 0] == orders["late", 0]
    assert orders["concat", 1] == orders["late", 1]
    assert orders["concat", 0] != orders["concat", 1]
    # Each epoch is a permutation of the train split, reshuffled in the next one.
    first, second = orders["concat", 0][:4], orders["concat", 0][4:]
    assert sorted(sum(first, ())) == sorted(sum(second, ())) == [f"r{i}" for i in range(8)]
    assert first != second


def test_the_plan_gives_every_run_the_same_ceiling(data):
    plan = make_plan(data, ["concat", "late", "gated"], [0, 1, 2], Budget(EPOCHS, BATCH),
                     device="cpu", config_overrides=dict(TINY))  # fmt: skip
    assert [run.id for run in plan.runs][:4] == [
        "concat-seed0",
        "late-seed0",
        "gated-seed0",
        "concat-seed1",
    ]  # fmt: skip  (seed by seed: a stopped comparison has every strategy of its first seeds)
    assert {run.steps for run in plan.runs} == {plan.budget["steps"]} == {EPOCHS * 4}
    assert plan.budget["modality_dropout"] == 0.3  # the model settings' default
    dropped = make_plan(data, ["late"], [0], Budget(EPOCHS, BATCH, modality_dropout=0.5),
                        device="cpu", config_overrides=dict(TINY))  # fmt: skip
    assert dropped.budget["modality_dropout"] == dropped.config_overrides["modality_dropout"] == 0.5


def test_a_stop_before_the_first_epoch_saves_nothing(data, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RunFailed, match="nothing was saved"):
        list(_train(data, out, "concat", 0, stop_requested=lambda: True))
    assert not out.exists() and not out.with_name("run" + PARTIAL_SUFFIX).exists()


def test_a_stop_keeps_the_best_completed_epoch(data, tmp_path):
    out, seen = tmp_path / "run", []
    events = _train(data, out, "late", 0, stop_requested=lambda: "epoch" in seen)
    for event in events:
        seen.append(event.kind)
    # Stopped after the first step of epoch 2: that epoch is dropped, epoch 1 is saved.
    assert seen.count("epoch") == 1 and seen[-1] == "done" and seen[-2] == "step"
    assert seen.count("step") == 5
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stopped"] is True and metrics["epochs"] == 1 and metrics["best_epoch"] == 1
    assert metrics["steps"] == 5 and [h["epoch"] for h in metrics["history"]] == [1]
    assert load_checkpoint(out).config.fusion == "late"


def test_the_epoch_event_carries_the_metrics_line(data, tmp_path):
    epochs = [e for e in _train(data, tmp_path / "run", "concat", 0) if e.kind == "epoch"]
    line = epochs[-1].metrics
    assert line["kind"] == "eval" and line["step"] == 8 and line["epoch"] == 2
    assert set(line) >= {"train_loss", "train_accuracy", "val_accuracy", "val_score", "lr",
                         "wall_seconds"}  # fmt: skip
    assert line["val_subsets"]["image+text"] is not None and line["val_subsets"]["audio"] is None
    assert line["wall_seconds"] > epochs[0].metrics["wall_seconds"] > 0


def test_a_run_stop_file_stops_the_worker_with_its_best_checkpoint(data, tmp_path, monkeypatch):
    directory = tmp_path / "cmp"
    plan = make_plan(data, ["concat"], [0], Budget(EPOCHS, BATCH), device="cpu",
                     config_overrides=dict(TINY))  # fmt: skip
    directory.mkdir()
    plan.write(directory)
    run_dir = directory / "concat-seed0"
    original = metrics_log.MetricsLog._eval_line

    def stop_after_the_first_epoch(self, line):
        original(self, line)
        (run_dir / "STOP").touch()  # as the window's Stop button would, mid-run

    monkeypatch.setattr(metrics_log.MetricsLog, "_eval_line", stop_after_the_first_epoch)
    assert Worker(directory, plan, plan.runs[0]).run() == 0
    status = RunStatus.read(run_dir)
    assert (status.state, status.stopped_by) == ("stopped", "run") and status.finished
    assert "test acc" in status.message
    test = json.loads((run_dir / "test.json").read_text())
    assert test["stopped"] is True and test["epochs"] == 1 and test["steps"] == 5
    lines = [json.loads(t) for t in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines if line["kind"] == "eval"] == [4]
    assert is_final(status, run_dir)  # --resume leaves it as it is


def test_an_interrupted_worker_resumes_from_its_last_epoch_without_repeating_lines(
    data, tmp_path, monkeypatch
):
    directory = tmp_path / "cmp"
    plan = make_plan(data, ["gated"], [0], Budget(EPOCHS, BATCH), device="cpu",
                     config_overrides=dict(TINY))  # fmt: skip
    directory.mkdir()
    plan.write(directory)
    run_dir = directory / "gated-seed0"
    original = metrics_log.MetricsLog._eval_line

    def interrupted_after_the_first_epoch(self, line):
        original(self, line)
        raise KeyboardInterrupt  # as a SIGTERM from the driver, or Ctrl-C

    monkeypatch.setattr(metrics_log.MetricsLog, "_eval_line", interrupted_after_the_first_epoch)
    assert Worker(directory, plan, plan.runs[0]).run() == 130
    status = RunStatus.read(run_dir)
    assert status.state == "pending" and "--resume continues" in status.message
    assert (run_dir / ("checkpoint" + PARTIAL_SUFFIX)).is_dir()
    assert not (run_dir / "checkpoint").exists()
    monkeypatch.setattr(metrics_log.MetricsLog, "_eval_line", original)
    assert Worker(directory, plan, plan.runs[0]).run() == 0
    assert RunStatus.read(run_dir).state == "done"
    lines = [json.loads(t) for t in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [(line["kind"], line["step"]) for line in lines] == [
        ("train", 4), ("eval", 4), ("train", 8), ("eval", 8)
    ]  # fmt: skip
    history = json.loads((run_dir / "checkpoint" / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2]  # epoch 1 came from the saved state


def test_the_comparison_stop_file_stops_the_run_and_starts_no_more(data, tmp_path):
    from mmstudio.training.comparison.driver import drive

    directory = tmp_path / "cmp"
    plan = make_plan(data, ["concat", "late"], [0], Budget(EPOCHS, BATCH), device="cpu",
                     config_overrides=dict(TINY))  # fmt: skip
    directory.mkdir()
    plan.write(directory)
    events = []
    for event in drive(directory, plan):
        events.append(event)
        if event.kind == "run" and event.run == "concat-seed0":
            (directory / "STOP").touch()  # the window's Stop All, as the first run starts
    assert [e.run for e in events if e.kind == "run"] == ["concat-seed0", "concat-seed0"]
    first = RunStatus.read(directory / "concat-seed0")
    assert (first.state, first.stopped_by) == ("stopped", "comparison")
    assert not is_final(first, directory / "concat-seed0")  # --resume trains it again
    assert not (directory / "late-seed0").exists()
    assert "not finished: late-seed0" in events[-1].message
    assert not (directory / "report.json").exists()


def test_a_worker_whose_driver_died_ends_as_interrupted(data, tmp_path, monkeypatch):
    import os

    from mmstudio.training.comparison import worker as worker_module

    directory = tmp_path / "cmp"
    plan = make_plan(data, ["concat"], [0], Budget(EPOCHS, BATCH), device="cpu",
                     config_overrides=dict(TINY))  # fmt: skip
    directory.mkdir()
    plan.write(directory)
    worker = Worker(directory, plan, plan.runs[0])
    original = metrics_log.MetricsLog._eval_line

    def driver_killed_after_the_first_epoch(self, line):
        original(self, line)
        monkeypatch.setattr(worker_module.os, "getppid", lambda: os.getpid() + 10**6)

    monkeypatch.setattr(metrics_log.MetricsLog, "_eval_line", driver_killed_after_the_first_epoch)
    assert worker.run() == 130
    status = RunStatus.read(directory / "concat-seed0")
    assert status.state == "pending" and status.step == 5
    assert (directory / "concat-seed0" / ("checkpoint" + PARTIAL_SUFFIX)).is_dir()
