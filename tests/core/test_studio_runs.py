"""The Qt-free reader of a comparison folder the window polls: lines read as they are appended
(a half-written last line waits for its end), the mean and bands over seeds against a hand
computation, progress over the whole comparison, STOP files and the up-front checks."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from mmstudio.inputs.errors import InputError
from mmstudio.studio_runs import (
    LOSS,
    SUBSET_PREFIX,
    VAL_ACCURACY,
    ComparisonReader,
    TrainingSettings,
    band,
    pid_alive,
    request_stop,
)
from mmstudio.studio_runs.tail import JsonLinesTail
from tests.core.analysis_data import write_dataset


def _write_json(path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")


def _plan(folder, fusions=("concat", "late"), seeds=(0, 1), steps=10) -> dict:
    runs = [
        {"id": f"{f}-seed{s}", "fusion": f, "seed": s, "dir": f"{f}-seed{s}"}
        for f in fusions
        for s in seeds
    ]
    plan = {
        "version": 1,
        "data": "/data",
        "fusions": list(fusions),
        "seeds": list(seeds),
        "budget": {"epochs": 2, "steps": steps, "batch_size": 16},
        "runs": runs,
    }
    _write_json(folder / "plan.json", plan)
    return plan


def _eval(step, accuracy, loss=1.0, subsets=None) -> str:
    line = {
        "kind": "eval",
        "step": step,
        "epoch": step // 5,
        "train_loss": loss,
        "val_accuracy": accuracy,
        "val_subsets": subsets or {"image": accuracy, "text": None},
    }
    return json.dumps(line) + "\n"


def _append(path, text) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)


def test_a_tail_reads_only_new_lines_and_waits_for_a_partial_ones_end(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = JsonLinesTail(path)
    assert tail.read_new() == []  # not written yet
    _append(path, '{"step": 1}\n{"step": 2')
    assert tail.read_new() == [{"step": 1}]
    assert tail.read_new() == []
    _append(path, ', "x": 3}\nnot json\n{"step": 4}\n')
    assert tail.read_new() == [{"step": 2, "x": 3}, {"step": 4}]
    assert tail.skipped == 1
    # Rewritten shorter (a restarted run): read again from the start.
    path.write_text('{"step": 9}\n')
    assert tail.read_new() == [{"step": 9}] and tail.restarted


def test_the_band_over_seeds_matches_a_hand_computation():
    seeds = [{10: 0.8, 20: 0.5}, {10: 0.9}, {10: 0.85, 20: None}]
    result = band(seeds)
    assert result.steps == [10, 20] and result.count == [3, 1]
    mean = (0.8 + 0.9 + 0.85) / 3
    sd = math.sqrt(((0.8 - mean) ** 2 + (0.9 - mean) ** 2 + (0.85 - mean) ** 2) / 2)
    half = 4.302652729911275 * sd / math.sqrt(3)  # t(0.975, 2), from a printed table
    assert result.mean[0] == pytest.approx(mean)
    assert (result.low[0], result.high[0]) == pytest.approx((0.8, 0.9))
    assert (result.ci_low[0], result.ci_high[0]) == pytest.approx((mean - half, mean + half))
    # One seed: no spread, the bands are the value itself.
    assert result.mean[1] == result.low[1] == result.ci_low[1] == result.ci_high[1] == 0.5


def test_seeds_evaluated_at_different_steps_meet_on_their_common_span():
    # Seeds split a dataset without a split column differently: 10 steps an epoch against 11.
    result = band([{10: 0.2, 20: 0.4}, {11: 0.3, 22: 0.5}])
    assert result.steps == [10, 11, 20, 22] and result.count == [1, 2, 2, 1]
    assert result.mean == pytest.approx(
        [0.2, (0.22 + 0.3) / 2, (0.4 + (0.3 + 0.2 * 9 / 11)) / 2, 0.5]
    )
    assert result.low[1] == pytest.approx(0.22) and result.high[1] == pytest.approx(0.3)


def test_the_reader_groups_runs_by_strategy_as_they_are_written(tmp_path):
    _plan(tmp_path)
    reader = ComparisonReader(tmp_path)
    first = reader.poll()
    assert first.plan_loaded and reader.fusions == ["concat", "late"]
    assert [r.id for r in reader.runs_of("late")] == ["late-seed0", "late-seed1"]
    metrics = tmp_path / "concat-seed0" / "metrics.jsonl"
    _append(metrics, json.dumps({"kind": "train", "step": 2, "train_loss": 2.0}) + "\n")
    _append(metrics, _eval(5, 0.6, subsets={"image": 0.5, "text": None, "image+text": 0.7}))
    _append(metrics, _eval(10, 0.8)[:-12])  # cut inside the line
    update = reader.poll()
    assert update.new_points == {"concat-seed0": 2}
    assert reader.series("concat-seed0", VAL_ACCURACY) == {5: 0.6}
    assert reader.series("concat-seed0", LOSS) == {2: 2.0}  # the "train" lines, not the epochs'
    assert reader.coalitions == ["image", "text", "image+text"]
    assert reader.series("concat-seed0", SUBSET_PREFIX + "text") == {}  # null: the data lacks it
    _append(metrics, _eval(10, 0.8)[-12:])
    _append(tmp_path / "concat-seed1" / "metrics.jsonl", _eval(5, 0.8))
    reader.poll()
    concat = reader.band("concat", VAL_ACCURACY)
    assert concat.steps == [5, 10] and concat.count == [2, 1]
    assert concat.mean == pytest.approx([0.7, 0.8])
    assert reader.band("late", VAL_ACCURACY).steps == []
    assert not reader.poll().changed  # nothing new: nothing read


def test_without_train_lines_the_loss_curve_is_the_epochs_loss(tmp_path):
    _plan(tmp_path, fusions=("gated",), seeds=(0,))
    _append(tmp_path / "gated-seed0" / "metrics.jsonl", _eval(5, 0.5, loss=1.5))
    reader = ComparisonReader(tmp_path)
    reader.poll()
    assert reader.series("gated-seed0", LOSS) == {5: 1.5}


def test_progress_counts_steps_over_the_whole_comparison(tmp_path):
    _plan(tmp_path, steps=10)  # 4 runs of 10 steps
    _write_json(
        tmp_path / "driver.json",
        {"pid": os.getpid(), "started": "2026-01-01T00:00:00+00:00", "finished": None},
    )
    status = {"state": "done", "step": 10, "total_steps": 10}
    _write_json(tmp_path / "concat-seed0" / "status.json", status)
    _write_json(
        tmp_path / "concat-seed1" / "status.json", {**status, "state": "stopped", "step": 3}
    )
    _write_json(tmp_path / "late-seed0" / "status.json", {**status, "state": "running", "step": 4})
    reader = ComparisonReader(tmp_path)
    update = reader.poll()
    assert update.status_changed == {"concat-seed0", "concat-seed1", "late-seed0"}
    assert reader.status["concat-seed1"].state == "stopped"
    started = reader.progress(now=0).done_steps
    assert started == 24  # a stopped run has no steps left
    progress = reader.progress(now=1767225600 + 24.0)  # 24 s after the start: 1 s per step
    assert progress.total_steps == 40 and progress.eta_seconds == pytest.approx(16.0)
    assert not reader.finished
    _write_json(tmp_path / "report.json", {"strategies": {}})
    assert reader.poll().finished and reader.report == {"strategies": {}}
    assert reader.progress().fraction == 1.0 and reader.progress().eta_seconds == 0


def test_a_driver_that_died_without_a_word_finishes_the_comparison(tmp_path):
    _plan(tmp_path)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(gone.stdout)
    assert not pid_alive(pid) and pid_alive(os.getpid())
    _write_json(tmp_path / "driver.json", {"pid": pid, "started": None, "finished": None})
    reader = ComparisonReader(tmp_path)
    assert reader.poll().finished and reader.report is None


def test_stop_files_go_where_the_driver_looks(tmp_path):
    assert request_stop(tmp_path, "late-seed1") == tmp_path / "late-seed1" / "STOP"
    assert request_stop(tmp_path) == tmp_path / "STOP"
    assert (tmp_path / "STOP").is_file() and (tmp_path / "late-seed1" / "STOP").is_file()


def test_settings_become_the_train_command(tmp_path):
    data = write_dataset(tmp_path / "data", count=30, broken=False)
    settings = TrainingSettings(
        data=str(data),
        out=str(tmp_path / "out"),
        fusions=["concat", "gated"],
        seeds=2,
        epochs=3,
        batch_size=16,
        modality_dropout=0.25,
        device="cpu",
        model_settings=["dim=32"],
    )
    settings.check()
    command = settings.command()
    assert command[:4] == [sys.executable, "-m", "mmstudio", "train"]
    assert command[4:] == [
        os.path.abspath(data), "--fusion", "concat,gated", "--seeds", "2", "--epochs", "3", "--batch-size", "16",
        "--modality-dropout", "0.25", "--device", "cpu", "--out", os.path.abspath(tmp_path / "out"),
        "--set", "dim=32",
    ]  # fmt: skip
    assert not (tmp_path / "out").exists()  # checking writes nothing


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(data="missing"), "the dataset folder does not exist"),
        (dict(data="empty"), "no manifest.jsonl or manifest.csv, and no image"),
        (dict(fusions=[]), "choose at least one fusion strategy"),
        (dict(seeds=0), "seeds must be at least 1"),
        (dict(epochs=0), "at least 1 epoch"),
        (dict(batch_size=0), "batch size must be at least 1"),
        (dict(modality_dropout=1.0), "modality dropout"),
        (dict(model_settings=["dim"]), "KEY=VALUE"),
        (dict(out="full"), "the output folder is not empty"),
        (dict(out="", resume=True), "choose an output folder"),
    ],
)
def test_bad_settings_say_what_to_change(tmp_path, change, message):
    data = write_dataset(tmp_path / "data", count=30, broken=False)
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    settings = TrainingSettings(data=str(data), out=str(tmp_path / "out"), device="cpu")
    for key, value in change.items():
        if key in ("data", "out") and value:
            value = str(tmp_path / value)
        setattr(settings, key, value)
    with pytest.raises(InputError, match=message):
        settings.check()


def test_the_table_takes_the_best_seed_by_validation_and_the_reports_figures(tmp_path):
    from mmstudio.studio_runs.summary import SIGNIFICANT, strategy_rows

    _plan(tmp_path, fusions=("concat", "late"), seeds=(0, 1))
    for run, score, accuracy in (
        ("concat-seed0", 0.9, 0.70),
        ("concat-seed1", 0.6, 0.95),  # the better accuracy, not the better score
        ("late-seed0", 0.5, 0.5),
        ("late-seed1", 0.4, 0.4),
    ):
        line = json.loads(_eval(5, accuracy))
        line["val_score"] = score
        _append(tmp_path / run / "metrics.jsonl", json.dumps(line) + "\n")
        _write_json(tmp_path / run / "status.json", {"state": "done", "step": 10})
        _write_json(tmp_path / run / "checkpoint" / "config.json", {"fusion": run[:-6]})
    _write_json(tmp_path / "late-seed1" / "status.json", {"state": "stopped", "step": 10})
    interval = {"mean": 0.8, "half_width": 0.05, "n": 2}
    report = {
        "strategies": {
            "concat": {"accuracy": interval, "accuracy/image": interval, "params": {"mean": 1234.0, "half_width": 0.0}},
            "late": {"accuracy": {"mean": 0.5, "half_width": None}},
        },
        "comparisons": {"accuracy": [{"a": "concat", "b": "late", "mean_difference": -0.3, "significant": False}, {"a": "late", "b": "concat", "mean_difference": -0.3, "significant": True}]},
    }  # fmt: skip
    _write_json(tmp_path / "report.json", report)
    reader = ComparisonReader(tmp_path)
    reader.poll()
    concat, late = strategy_rows(reader)
    assert concat.best_run.id == "concat-seed0" and concat.best_seed == 0
    assert concat.checkpoint == tmp_path / "concat-seed0" / "checkpoint"
    assert concat.cells["test accuracy"] == "80.0 ± 5.0%"
    assert concat.cells["with image"] == "80.0 ± 5.0%"
    assert concat.cells["parameters"] == "1,234"
    assert concat.cells[SIGNIFICANT] == "late" and late.cells[SIGNIFICANT] == "–"
    assert late.cells["test accuracy"] == "50.0%" and late.cells["runs"] == "2/2"
    assert late.best_run.id == "late-seed0"  # a stopped run counts, with its checkpoint


def test_the_t_quantiles_match_scipy():
    from scipy.stats import t

    from mmstudio.studio_runs import t_quantile

    for df in (*range(1, 40), 60, 100, 1000):
        assert t_quantile(df) == pytest.approx(float(t.ppf(0.975, df)), abs=2e-6), df
    assert t_quantile(5, 0.9) == pytest.approx(float(t.ppf(0.95, 5)))
