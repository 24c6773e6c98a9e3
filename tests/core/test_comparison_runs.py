"""A whole comparison through the command line and real worker processes: interrupted after
its first run, resumed without touching that run, one run stopped by its STOP file while the
rest go on; then its files: equal budgets, TensorBoard events, the report. And bad input.

Two strategies x two seeds, two epochs of four steps on a dozen 8x8 images and one-word texts,
with the model shrunk to dim 16: what is checked is the machinery, not the accuracy.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from tests.conftest import require_module

require_module("torch")
require_module("tensorboard")

from mmstudio.cli import main  # noqa: E402
from mmstudio.training.comparison.driver import drive  # noqa: E402
from mmstudio.training.comparison.files import RunStatus  # noqa: E402
from mmstudio.training.comparison.plan import Budget, make_plan  # noqa: E402
from tests.badinput.cases_training import TINY, TINY_FLAGS, dataset  # noqa: E402

RUNS = ("concat-seed0", "late-seed0", "concat-seed1", "late-seed1")  # seed by seed
STEPS = 8  # 2 epochs x 8 train records / batch 2


def _cli(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(args)
    return status, err.getvalue()


def _args(data: Path, out: Path, *options: str) -> list[str]:
    return [
        "train", str(data), "--fusion", "concat,late", "--seeds", "2", "--out", str(out),
        "--epochs", "2", "--batch-size", "2", "--device", "cpu", *TINY_FLAGS, *options,
    ]  # fmt: skip


def _snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    return {
        str(path.relative_to(folder)): (path.stat().st_mtime_ns,
                                        hashlib.sha256(path.read_bytes()).hexdigest())
        for path in sorted(folder.rglob("*")) if path.is_file()
    }  # fmt: skip


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(t) for t in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    """The comparison's folder after: run 1 done, the driver interrupted as run 2 was about to
    start, run 2 given a STOP file, then --resume."""
    folder = tmp_path_factory.mktemp("comparison")
    data, out = dataset(folder), folder / "cmp"
    plan = make_plan(data, ["concat", "late"], [0, 1], Budget(2, 2), device="cpu",
                     config_overrides=dict(TINY))  # fmt: skip
    out.mkdir()
    plan.write(out)
    events = drive(out, plan)
    for event in events:
        if event.kind == "run" and event.run == "late-seed0":
            break  # the driver is killed as the second run is about to start
    events.close()
    first = _snapshot(out / "concat-seed0")
    states_before = [RunStatus.read(out / run).state for run in RUNS]
    (out / "late-seed0").mkdir(exist_ok=True)
    (out / "late-seed0" / "STOP").touch()
    status, err = _cli(_args(data, out, "--resume"))
    return {"out": out, "status": status, "err": err, "first": first, "before": states_before}


def test_resume_keeps_the_finished_run_and_completes_the_rest(comparison):
    out = comparison["out"]
    assert comparison["status"] == 0, comparison["err"]
    assert comparison["before"] == ["done", "pending", "pending", "pending"]
    assert _snapshot(out / "concat-seed0") == comparison["first"]  # not rerun, not rewritten
    states = {run: RunStatus.read(out / run) for run in RUNS}
    assert [states[run].state for run in RUNS] == ["done", "stopped", "done", "done"]
    driver = json.loads((out / "driver.json").read_text())
    assert driver["finished"] is not None and driver["pid"] > 0


def test_a_stop_file_stops_its_run_and_the_comparison_goes_on(comparison):
    out = comparison["out"]
    stopped = RunStatus.read(out / "late-seed0")
    # Its STOP was there from the start: it stopped after one step, with no epoch to keep.
    assert stopped.stopped_by == "run" and "nothing was saved" in stopped.message
    assert not (out / "late-seed0" / "checkpoint").exists()
    assert not (out / "late-seed0" / "test.json").exists()
    report = json.loads((out / "report.json").read_text())
    assert report["runs"]["late-seed0"] == {"fusion": "late", "seed": 0, "state": "stopped",
                                            "result": False}  # fmt: skip
    assert report["strategies"]["late"]["accuracy"]["n"] == 1
    assert report["strategies"]["concat"]["accuracy"]["n"] == 2


def test_every_finished_run_had_the_same_budget(comparison):
    out = comparison["out"]
    plan = json.loads((out / "plan.json").read_text())
    assert plan["budget"]["steps"] == STEPS and {r["steps"] for r in plan["runs"]} == {STEPS}
    for run in ("concat-seed0", "concat-seed1", "late-seed1"):
        status = RunStatus.read(out / run)
        assert (status.step, status.total_steps) == (STEPS, STEPS)
        evals = [line for line in _lines(out / run) if line["kind"] == "eval"]
        assert [(e["epoch"], e["step"]) for e in evals] == [(1, 4), (2, 8)]
        test = json.loads((out / run / "test.json").read_text())
        assert test["steps"] == STEPS and test["params"] > 0
        assert test["analysis_latency_seconds"] > 0 and test["peak_memory_mib"] > 0
        assert set(test["overall"]) == {"0", "1", "2", "3"}


def test_tensorboard_reads_the_same_curves(comparison):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = comparison["out"] / "late-seed1"
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "val/accuracy", "val/score", "val/image",
            "val/image+text"} <= tags  # fmt: skip
    assert "val/audio" not in tags  # the data has no audio: no curve rather than a fake one
    lines = _lines(run_dir)
    evals = [line for line in lines if line["kind"] == "eval"]
    accuracy = events.Scalars("val/accuracy")
    assert [s.step for s in accuracy] == [4, 8]
    assert [s.value for s in accuracy] == pytest.approx([e["val_accuracy"] for e in evals])
    train = [line for line in lines if line["kind"] == "train"]
    assert [s.step for s in events.Scalars("train/loss")] == [line["step"] for line in train]


def test_the_report_covers_every_strategy(comparison):
    out = comparison["out"]
    markdown = (out / "report.md").read_text()
    assert "| concat |" in markdown and "| late |" in markdown
    assert "Which differences hold at 2 seeds" in markdown
    report = json.loads((out / "report.json").read_text())
    late = report["strategies"]["late"]
    assert late["effective_robustness"]["values"] == pytest.approx([0.0], abs=1e-12)
    assert late["accuracy"]["note"].startswith("one seed")
    # Effective robustness is against late fusion of the same seed, which seed 0 lacks.
    assert len(report["strategies"]["concat"]["effective_robustness"]["values"]) == 1


def test_the_model_card_ships_the_strategy_the_report_favours(comparison, tmp_path):
    from mmstudio.models.checkpoint import load_checkpoint
    from mmstudio.training.model_card import rank_from_report

    out = comparison["out"]
    report = json.loads((out / "report.json").read_text())
    # A tiny model on data without audio meets no target, so the report's first ships.
    chosen = rank_from_report(report)[0]
    card = tmp_path / "digits" / "MODEL_CARD.md"
    status, err = _cli(["model-card", "--comparison", str(out), "--out", str(card), "--install"])
    assert status == 0, err
    text = card.read_text(encoding="utf-8")
    assert "## Fusion strategies compared" in text and "--seeds 2 --epochs 2" in text
    assert "### Which differences hold at 2 seeds" in text and "| concat |" in text
    assert f"**Shipped: {chosen} fusion, seed " in text
    assert "None did (" in text and "so the report's first ships." in text
    assert "Unequal budgets" not in text
    shipped = load_checkpoint(card.parent)
    assert shipped.config.fusion == chosen
    installed = json.loads((card.parent / "metrics.json").read_text())
    seed = installed["settings"]["seed"]
    # The installed weights are that seed's checkpoint, and its test figures come along.
    run = out / f"{chosen}-seed{seed}"
    assert (card.parent / "model.safetensors").read_bytes() == (
        run / "checkpoint" / "model.safetensors"
    ).read_bytes()
    assert installed["test"]["overall"] == json.loads((run / "test.json").read_text())["overall"]


@pytest.mark.parametrize(
    ("met", "shipped", "passed_over"),
    [
        ({"late": True, "concat": True}, "concat", []),
        ({"late": True, "concat": False}, "late", ["concat"]),
        ({"late": False, "concat": False}, "concat", ["concat", "late"]),
    ],
    ids=["the first ranked qualifies", "a lower one qualifies", "none qualifies"],
)
def test_the_first_ranked_strategy_meeting_every_target_ships(monkeypatch, met, shipped,
                                                              passed_over):  # fmt: skip
    from mmstudio.training import model_card

    def targets(metrics):
        return [model_card.Target("image alone, clean", metrics["image"], 0.97)]

    monkeypatch.setattr(model_card, "targets", targets)
    asked = []

    def metrics_of(fusion):
        asked.append(fusion)
        return {"image": 0.99 if met[fusion] else 0.5}

    choice = model_card.choose_shipped(["concat", "late"], metrics_of)
    assert (choice.fusion, list(choice.passed_over)) == (shipped, passed_over)
    assert choice.meets_targets == met[shipped]
    # Strategies ranked below the shipped one are not measured at all.
    assert asked == (["concat"] if met["concat"] else ["concat", "late"])


def test_a_model_card_needs_a_finished_comparison(tmp_path):
    status, err = _cli(["model-card", "--comparison", str(tmp_path), "--out",
                        str(tmp_path / "card.md")])  # fmt: skip
    assert status == 2 and "no report.json here: the comparison has not finished" in err
    assert not (tmp_path / "card.md").exists()


@pytest.mark.parametrize(
    ("options", "data_missing", "expected"),
    [
        (["--fusion", "concat,bogus"], False, "unknown fusion strategy 'bogus'"),
        (["--seeds", "0"], False, "--seeds must be at least 1"),
        (["--modality-dropout", "1.5"], False, "--modality-dropout"),
        ([], True, "no-data"),
    ],
    ids=["unknown strategy", "no seeds", "dropout above 1", "missing data folder"],
)
def test_bad_input_is_refused_before_anything_is_written(tmp_path, options, data_missing,
                                                         expected):  # fmt: skip
    data = tmp_path / "no-data" if data_missing else dataset(tmp_path)
    out = tmp_path / "cmp"
    args = _args(data, out)
    for option in options:  # later options win in argparse; replace to keep one of each
        if option.startswith("--") and option in args:
            index = args.index(option)
            del args[index : index + 2]
    status, err = _cli([*args, *options])
    assert status == 2 and expected in err and "Traceback" not in err
    assert not out.exists()


def test_a_comparison_folder_is_only_continued_with_resume(tmp_path):
    data, out = dataset(tmp_path), tmp_path / "cmp"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    status, err = _cli(_args(data, out))
    assert status == 2 and "new or empty folder" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    (out / "notes.txt").unlink()
    make_plan(data, ["concat", "late"], [0, 1], Budget(2, 2), device="cpu",
              config_overrides=dict(TINY)).write(out)  # fmt: skip
    status, err = _cli(_args(data, out))
    assert status == 2 and "--resume" in err
    status, err = _cli(_args(data, out, "--resume", "--fusion", "gated,late"))
    assert status == 2 and "saved plan" in err
    assert [p.name for p in out.iterdir()] == ["plan.json"]
    # A driver that has not finished and whose process still exists (this test's parent, as
    # stand-in) is running the comparison: a second one would write the same files.
    driver = {"pid": os.getppid(), "started": "2026-01-01T00:00:00+00:00", "finished": None}
    (out / "driver.json").write_text(json.dumps(driver))
    status, err = _cli(_args(data, out, "--resume"))
    assert status == 2 and f"still running (process {os.getppid()})" in err
    assert sorted(p.name for p in out.iterdir()) == ["driver.json", "plan.json"]


def test_nproc_trains_each_run_with_torchrun(tmp_path):
    from mmstudio.training.comparison.launch import worker_command

    command = worker_command(tmp_path / "cmp", "concat-seed0", 2)
    assert command[1:3] == ["-m", "torch.distributed.run"] and "--nproc-per-node" in command
    data, out = dataset(tmp_path), tmp_path / "cmp"
    args = _args(data, out, "--nproc", "2")
    args[args.index("--fusion") + 1], args[args.index("--seeds") + 1] = "concat", "1"
    status, err = _cli(args)
    assert status == 0, err
    assert json.loads((out / "plan.json").read_text())["nproc"] == 2
    run_dir = out / "concat-seed0"
    assert RunStatus.read(run_dir).state == "done" and (run_dir / "test.json").is_file()
    # The same global batches as one process: two epochs of four steps, logged once (rank 0).
    assert [line["step"] for line in _lines(run_dir) if line["kind"] == "eval"] == [4, 8]
    assert (out / "report.md").is_file()


def test_a_batch_that_does_not_divide_among_the_processes_is_refused(tmp_path):
    data, out = dataset(tmp_path), tmp_path / "cmp"
    args = _args(data, out, "--nproc", "2")
    args[args.index("--batch-size") + 1] = "3"
    status, err = _cli(args)
    assert status == 2 and "does not divide among 2 processes" in err
    assert not out.exists()
