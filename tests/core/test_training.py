"""Training, resuming, evaluation and the training commands, on the small digits build.

The model is shrunk (dim 32, small inputs) so the whole module runs in about a minute on a
two-core CPU; what is checked is the machinery, not the accuracy. The shipped checkpoint,
where present, is checked for accuracy on the shipped sample inputs.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import require_module, require_or_skip

torch = require_module("torch")

from mmstudio.inputs import make_sample  # noqa: E402
from mmstudio.models.checkpoint import load_checkpoint  # noqa: E402
from mmstudio.training.corruption import CORRUPTION_LEVELS  # noqa: E402
from mmstudio.training.data import CLEAN, NO_AUGMENTATION  # noqa: E402
from mmstudio.training.evaluate import SUBSETS  # noqa: E402
from mmstudio.training.trainer import STATE_JSON, STATE_TENSORS, train  # noqa: E402

TINY = {
    "dim": 32,
    "text_layers": 1,
    "text_heads": 2,
    "fusion_heads": 2,
    "image_size": 32,
    "audio_n_mels": 32,
}
TINY_FLAGS = [item for key, value in TINY.items() for item in ("--set", f"{key}={value}")]
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@pytest.fixture(scope="module", autouse=True)
def _few_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    require_or_skip(
        shutil.which("espeak-ng") is not None, "espeak-ng is needed to build the digits dataset"
    )
    from mmstudio.training.digits import build_digits_dataset

    folder = tmp_path_factory.mktemp("digits") / "small"
    build_digits_dataset(folder, size="small", seed=0)
    return folder


@pytest.fixture(scope="module")
def resumed_run(digits, tmp_path_factory):
    """One epoch, then a resumed run to three; plain clean inputs, so the loss falls clearly."""
    out = tmp_path_factory.mktemp("run") / "attention"
    settings = dict(
        fusion="attention",
        out_dir=out,
        batch_size=16,
        lr=4e-3,
        device="cpu",
        seed=0,
        config_overrides=TINY,
        mix=CLEAN,
        augmentation=NO_AUGMENTATION,
    )
    first = list(train(digits, epochs=1, **settings))
    second = list(train(digits, epochs=3, resume=True, **settings))
    return out, first, second


def test_training_lowers_the_loss(resumed_run):
    out, _, _ = resumed_run
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["loss"] < history[0]["loss"] - 0.05


def test_events_report_progress(resumed_run):
    _, first, _ = resumed_run
    kinds = [event.kind for event in first]
    assert kinds[0] == "start" and kinds[-1] == "done" and "epoch" in kinds
    steps = [event for event in first if event.kind == "step"]
    assert [e.step for e in steps] == list(range(1, len(steps) + 1))
    assert all(e.loss > 0 and 0 <= e.accuracy <= 1 and e.total_steps == len(steps) for e in steps)


def test_resume_continues_where_it_stopped(resumed_run):
    out, first, second = resumed_run
    assert second[0].kind == "start" and second[0].epoch == 1
    assert [e.epoch for e in second if e.kind == "epoch"] == [2, 3]
    assert second[1].step == first[-1].step + 1  # the step counter carries on
    state = json.loads((out / STATE_JSON).read_text())
    assert state["epoch"] == 3 and state["config"]["dim"] == 32
    assert (out / STATE_TENSORS).is_file()
    assert not [p for p in out.iterdir() if p.suffix in (".pt", ".pth", ".pkl", ".ckpt")]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["params"] > 0 and metrics["temperature"] > 0
    model = load_checkpoint(out)
    assert model.config.temperature == pytest.approx(metrics["temperature"])


def test_resume_refuses_another_fusion(resumed_run, digits):
    from mmstudio.inputs import InputError

    out, _, _ = resumed_run
    with pytest.raises(InputError, match="attention"):
        next(train(digits, fusion="concat", out_dir=out, epochs=4, resume=True, device="cpu"))


@pytest.fixture(scope="module")
def cli_run(digits, tmp_path_factory):
    """`mmstudio train` then `mmstudio evaluate`, through the real command line."""
    from mmstudio.cli import main

    out = tmp_path_factory.mktemp("cli") / "late"
    trained = main(
        [
            "train",
            str(digits),
            "--fusion",
            "late",
            "--out",
            str(out),
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--device",
            "cpu",
            *TINY_FLAGS,
        ]
    )
    json_path = out / "metrics_test.json"
    evaluated = main(
        ["evaluate", str(out), str(digits), "--json", str(json_path), "--device", "cpu"]
    )
    return trained, evaluated, json_path, digits


def test_cli_train_and_evaluate(cli_run, capsys):
    trained, evaluated, json_path, _ = cli_run
    assert trained == 0 and evaluated == 0
    assert json_path.is_file()


def test_evaluation_covers_every_subset_and_level(cli_run):
    from mmstudio.training.manifest import read_manifest

    _, _, json_path, digits = cli_run
    metrics = json.loads(json_path.read_text())
    assert metrics["subsets"] == list(SUBSETS) and len(SUBSETS) == 7
    for level in CORRUPTION_LEVELS:
        accuracy = metrics["accuracy"][str(level)]
        assert set(accuracy) == set(SUBSETS)
        assert all(0.0 <= value <= 1.0 for value in accuracy.values())
        assert 0.0 <= metrics["ece"][str(level)] <= 1.0
    matrix = metrics["confusion_matrix"]
    assert len(matrix) == 10 and all(len(row) == 10 for row in matrix)
    assert sum(map(sum, matrix)) == metrics["count"] == len(read_manifest(digits).split("test"))
    assert metrics["params"] > 0 and metrics["latency_ms"]["analyze_median"] > 0


def test_format_report_is_a_table(cli_run):
    from mmstudio.training.evaluate import format_report

    text = format_report(json.loads(cli_run[2].read_text()))
    assert "image+text+audio" in text and "level 3" in text and "ECE" in text


def test_model_card_installs_the_chosen_run(cli_run, tmp_path):
    from mmstudio.cli import main

    run_dir = cli_run[2].parent
    card = tmp_path / "digits" / "MODEL_CARD.md"
    assert main(["model-card", "--runs", str(run_dir), "--out", str(card), "--install"]) == 0
    text = card.read_text(encoding="utf-8")
    assert "late" in text and "## Targets" in text and "CC BY 4.0" in text
    for name in ("model.safetensors", "config.json", "labels.txt", "metrics.json"):
        assert (card.parent / name).is_file()
    assert "test" in json.loads((card.parent / "metrics.json").read_text())
    assert load_checkpoint(card.parent).config.fusion == "late"


def test_cli_reports_input_errors(tmp_path, capsys):
    from mmstudio.cli import main

    assert main(["evaluate", str(tmp_path / "missing"), str(tmp_path), "--device", "cpu"]) == 2
    assert main(["train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("mmstudio:") == 2 and "Traceback" not in err


def test_temperature_fit_recovers_a_known_scale():
    from mmstudio.training.trainer import fit_temperature

    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 10, (4000,), generator=generator)
    true_logits = torch.randn(4000, 10, generator=generator) * 2
    true_logits[torch.arange(4000), labels] += 2.0
    # Sample labels from softmax(true_logits), then hand the fit logits three times too sharp.
    sampled = torch.multinomial(true_logits.softmax(-1), 1, generator=generator)[:, 0]
    assert fit_temperature(true_logits * 3.0, sampled) == pytest.approx(3.0, rel=0.1)


# ------------------------------------------------------------------------- the shipped model


def _shipped():
    from mmstudio.resources import default_model_dir, samples_dir

    try:
        folder, samples = default_model_dir(), samples_dir()
    except FileNotFoundError:
        folder = samples = None
    require_or_skip(folder is not None, "no resources folder in this installation")
    require_or_skip(
        (folder / "model.safetensors").is_file(),
        "the default model has not been trained yet (packaging/train_default_model.sh)",
    )
    require_or_skip((samples / "examples.json").is_file(), "the sample inputs are missing")
    from mmstudio.analysis import Analyzer

    return Analyzer(load_checkpoint(folder), "cpu", explain=False), samples


def _predict(analyzer, **inputs) -> str:
    analysis = analyzer.analyze(make_sample(**inputs))
    return analysis.labels[analysis.predicted_index]


# Known misses of the shipped model on the shipped samples, kept visible here rather than hidden
# by choosing other samples; the test fails if a listed one starts passing, so the list stays
# true. "outvoted speech": the attention model follows a confident voice against the image and
# the text that agree (its example note says so).
KNOWN_MISSES: set[str] = {"outvoted speech"}


def test_shipped_model_gets_the_examples_right():
    analyzer, samples = _shipped()
    for example in json.loads((samples / "examples.json").read_text(encoding="utf-8")):
        if example.get("model"):
            continue  # another model's example (digits-chat's, checked by test_examples.py)
        inputs = {
            "image": samples / example["image"] if example.get("image") else None,
            "audio": samples / example["audio"] if example.get("audio") else None,
            "text": example.get("text"),
        }
        right = _predict(analyzer, **inputs) == example["expected"]
        assert right != (example["name"] in KNOWN_MISSES), example["name"]


def test_shipped_model_reads_each_modality_alone():
    analyzer, samples = _shipped()
    checked = 0
    for path in sorted(samples.glob("*.png")):
        # The level-3 corrupted image is there to show speech rescuing it, not to be read alone.
        found = re.search(r"(\d)\.png$", path.name)
        if found and not path.name.startswith("noisy"):
            assert _predict(analyzer, image=path) == found.group(1), path.name
            checked += 1
    for path in sorted(samples.glob("*.wav")):
        if path.stem in WORDS:
            right = _predict(analyzer, audio=path) == str(WORDS.index(path.stem))
            assert right != (path.name in KNOWN_MISSES), path.name
            checked += 1
    texts = samples / "texts.jsonl"
    for line in texts.read_text(encoding="utf-8").splitlines() if texts.is_file() else []:
        entry = json.loads(line)
        assert _predict(analyzer, text=entry["text"]) == entry["expected"], entry["text"]
        checked += 1
    assert checked >= 3
