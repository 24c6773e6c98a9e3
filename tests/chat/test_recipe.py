"""``mmstudio train-chat``: every stage runs in order, a rerun resumes instead of repeating, the
scores and explanation checks are written, and ``--ship`` leaves a folder the studio opens with
a model card made from the run's own figures."""

from __future__ import annotations

import json
import re

import pytest

from mmstudio.cli import main
from mmstudio.models.registry import get_model
from mmstudio.training.chat import questions as q
from mmstudio.training.chat.card import ship
from tests.chat.helpers import write_fake_digits

TINY = ["--image-steps", "2", "--audio-steps", "2", "--chat-steps", "3", "--batch-size", "4"]
TINY += ["--chat-records", "24", "--eval-records", "6", "--check-records", "6", "--threads", "1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("recipe")
    write_fake_digits(root / "digits", splits=("train", "val", "test"))
    return root


def test_train_chat_runs_every_stage_then_resumes_and_ships(run, capsys, monkeypatch):
    monkeypatch.setenv("MMSTUDIO_CPU_DTYPE", "float32")
    out = run / "run"
    assert main(["train-chat", str(run / "digits"), str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    stages = [line.split("]")[0] + "]" for line in printed.splitlines() if line.startswith("[")]
    order = list(dict.fromkeys(stages))
    assert order == ["[encoders/image]", "[encoders/audio]", "[chat]", "[scores]"]
    assert "validation accuracy" in printed
    scores = json.loads((out / "scores.json").read_text())
    assert scores["test"]["records"] == 6
    assert set(scores["test"]["by_kind"]) <= {*q.KINDS, *(f"{k}:missing" for k in q.KINDS)}
    checks = scores["explanations"]["checks"]
    assert set(checks) == {"pair_both_positive", "sum_synergy", "sum_synergy_all", "single_largest"}
    assert "ece" in scores["explanations"]["calibration"]

    # A rerun finds every stage done: no step is trained again, the scores are kept.
    stamp = (out / "scores.json").stat().st_mtime_ns
    assert (
        main(["train-chat", str(run / "digits"), str(out), *TINY, "--ship", str(run / "ship")]) == 0
    )
    again = capsys.readouterr().out
    assert not re.search(r"step \d+/\d+ loss", again) and "shipped to" in again
    assert (out / "scores.json").stat().st_mtime_ns == stamp

    shipped = run / "ship"
    card = (shipped / "MODEL_CARD.md").read_text()
    metrics = json.loads((shipped / "metrics.json").read_text())
    assert metrics["scores"] == scores
    assert f"{metrics['parameters']['total']:,}" in card
    assert "| image + voice sums answered right" in card
    assert get_model(shipped).task == "generation"


def test_train_chat_says_what_is_wrong(run, capsys):
    assert main(["train-chat", str(run / "nowhere"), str(run / "x"), *TINY]) == 1
    assert "error:" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no finished, scored model"):
        ship(run / "x", run / "s", run / "digits")
    assert not (run / "s").exists()


def test_a_rerun_with_more_encoder_steps_is_told_in_the_card(run, capsys, monkeypatch):
    """The image encoder resumes into a longer schedule; its state keeps both schedules, in
    order, and the shipped card says so instead of claiming one schedule of the final length."""
    monkeypatch.setenv("MMSTUDIO_CPU_DTYPE", "float32")
    out = run / "longer"
    assert main(["train-chat", str(run / "digits"), str(out), *TINY]) == 0
    longer = [*TINY[:1], "4", *TINY[2:]]  # --image-steps 4
    assert main(["train-chat", str(run / "digits"), str(out), *longer]) == 0
    assert "[encoders/image] step 4/4" in capsys.readouterr().out
    state = json.loads((out / "encoders/image/pretrain_state.json").read_text())
    assert state["schedules"] == [
        {"from": 0, "to": 2, "steps": 2},
        {"from": 2, "to": 4, "steps": 4},
    ]
    audio = json.loads((out / "encoders/audio/pretrain_state.json").read_text())
    assert audio["schedules"] == [{"from": 0, "to": 2, "steps": 2}]
    ship(out, run / "ship-longer", run / "digits")
    card = (run / "ship-longer" / "MODEL_CARD.md").read_text()
    assert (
        "steps 0–2 under a schedule of 2 steps, then steps 2–4 under a schedule of 4 steps" in card
    )
    assert "The audio encoder was trained in" not in card
