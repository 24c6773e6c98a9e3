"""``mmstudio predict`` on a generative model: the answer streams, then its explanation; with
``--json`` the GenerationAnalysis alone. Run in-process through ``mmstudio.cli.main`` (the
tiny LLaVA folder opens by path, as ``--model DIR`` does), so Ctrl+C can be sent at a known
point of the stream."""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmstudio.cli import main
from mmstudio.models import save_checkpoint
from tests.core.helpers import tiny_model
from tests.generative.tiny_models import sample_image

QUESTION = "what is this ?"


@dataclass(frozen=True)
class Files:
    generator: Path  # the tiny LLaVA folder
    classifier: Path
    picture: Path


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_model_folders) -> Files:
    root = tmp_path_factory.mktemp("generation_cli")
    sample_image().save(root / "picture.png")
    save_checkpoint(tiny_model(), root / "classifier")
    return Files(tiny_model_folders["llava"], root / "classifier", root / "picture.png")


class Recorder:
    """sys.stdout that keeps every write, in order."""

    def __init__(self, on_write=None):
        self.writes: list[str] = []
        self.on_write = on_write

    def write(self, text: str) -> int:
        self.writes.append(text)
        if self.on_write is not None:
            self.on_write(self)
        return len(text)

    def flush(self) -> None:
        pass

    @property
    def text(self) -> str:
        return "".join(self.writes)


def ask(files, *extra):
    return [
        "predict",
        "--model",
        str(files.generator),
        "--image",
        str(files.picture),
        "--text",
        QUESTION,
        *extra,
    ]


def json_of(files, capsys, *extra) -> dict:
    assert main(ask(files, "--json", *extra)) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_the_documented_keys_and_shapes(files, capsys):
    data = json_of(files, capsys, "--max-new-tokens", "5")
    assert data["task"] == "generation"
    assert data["modalities"] == ["image", "text"] and data["present"] == ["image", "text"]
    assert data["coalitions"] == [[], ["text"], ["image"], ["image", "text"]]
    tokens = data["answer_tokens"]
    assert len(tokens) == 5 and "".join(tokens) == data["answer"]
    logprobs = np.array(data["token_coalition_logprobs"])
    shapley = np.array(data["token_shapley"])
    answer = np.array(data["answer_shapley"])
    assert logprobs.shape == (4, 5) and shapley.shape == (5, 2) and answer.shape == (2,)
    # Efficiency per token and for the answer: base + values = the full prompt's value.
    np.testing.assert_allclose(logprobs[0] + shapley.sum(1), logprobs[-1], atol=1e-9)
    np.testing.assert_allclose(shapley.sum(0), answer, atol=1e-9)
    assert data["generation"]["max_new_tokens"] == 5 and data["generation"]["do_sample"] is False


def test_the_answer_streams_token_by_token_before_the_summary(files, capsys, monkeypatch):
    expected = json_of(files, capsys, "--max-new-tokens", "6")
    recorder = Recorder()
    monkeypatch.setattr(sys, "stdout", recorder)
    assert main(ask(files, "--max-new-tokens", "6")) == 0
    tokens = expected["answer_tokens"]
    # One write per token as it was chosen, in order, then the newline, then the summary.
    assert recorder.writes[: len(tokens)] == tokens
    assert recorder.writes[len(tokens)] == "\n"
    rest = "".join(recorder.writes[len(tokens) + 1 :])
    assert rest.lstrip().startswith("Answer: 6 tokens (it reached --max-new-tokens)")
    assert "exact Shapley" in rest and "Tokens that rely most on each modality" in rest
    for modality, value in zip(["image", "text"], expected["answer_shapley"], strict=True):
        assert f"  {modality:<16} {value:+.3f}" in rest


def test_max_new_tokens_is_honoured(files, capsys):
    for count in (1, 3):
        data = json_of(files, capsys, "--max-new-tokens", str(count))
        assert len(data["answer_token_ids"]) == count and data["finished"] == "length"


def test_sampling_with_a_seed_is_repeatable(files, capsys):
    def sampled(seed: int) -> list[int]:
        data = json_of(files, capsys, "--sample", "--seed", str(seed), "--max-new-tokens", "8")
        assert data["generation"]["do_sample"] is True and data["generation"]["seed"] == seed
        return data["answer_token_ids"]

    greedy = json_of(files, capsys, "--max-new-tokens", "8")["answer_token_ids"]
    first = sampled(1)
    assert sampled(1) == first
    assert sampled(2) != first  # the seed is what decides the draw
    assert greedy != first


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--seed", "3"), "--seed: only used when sampling; add --sample"),
        (("--temperature", "0.5", "--top-p", "0.9"), "--temperature, --top-p: only used when"),
        (("--sample", "--temperature", "0"), "the temperature must be above 0, not 0.0"),
        (("--sample", "--top-p", "1.5"), "top-p must be above 0 and at most 1, not 1.5"),
    ],
)
def test_bad_decoding_options_are_refused_with_the_reason(files, capsys, extra, message):
    assert main(ask(files, *extra)) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err
    assert captured.out == ""


def test_a_classifier_refuses_decoding_options(files, capsys):
    args = ["predict", "--model", str(files.classifier), "--text", "seven"]
    assert main([*args, "--max-new-tokens", "4", "--contrastive"]) == 2
    captured = capsys.readouterr()
    assert "--max-new-tokens, --contrastive: decoding options are for generative models" in (
        captured.err
    )
    assert captured.out == ""
    assert main(args) == 0  # without them the classifier still predicts
    assert "Prediction:" in capsys.readouterr().out


def test_a_zero_max_new_tokens_is_an_argument_error(files, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(ask(files, "--max-new-tokens", "0"))
    assert stopped.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_ctrl_c_while_streaming_stops_cleanly(files, capsys, monkeypatch):
    def interrupt_after_the_first_token(recorder):
        if len(recorder.writes) == 1:
            signal.raise_signal(signal.SIGINT)

    recorder = Recorder(interrupt_after_the_first_token)
    monkeypatch.setattr(sys, "stdout", recorder)
    before = signal.getsignal(signal.SIGINT)
    assert main(ask(files, "--max-new-tokens", "20")) == 130
    err = capsys.readouterr().err
    # Generation stops at the next check between steps (transformers checks before it
    # streams the step's token, so one more token may come): a newline, no explanation.
    tokens = recorder.writes[:-1]
    assert 1 <= len(tokens) <= 2 and recorder.writes[-1] == "\n"
    assert f"mmstudio: stopped after {len(tokens)} token" in err and "Traceback" not in err
    assert "Answer:" not in recorder.text
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back


def test_heatmaps_folder_gets_the_answer_json(files, capsys, tmp_path):
    out = tmp_path / "maps"
    assert main(ask(files, "--max-new-tokens", "4", "--heatmaps", str(out))) == 0
    printed = capsys.readouterr().out
    written = json.loads((out / "answer.json").read_text("utf-8"))
    assert written["task"] == "generation" and len(written["answer_tokens"]) == 4
    # The whole answer's maps, beside the JSON: over the image (at its size) and the words.
    names = ["answer.json", "answer_image_map.png", "answer_word_map.png"]
    assert sorted(p.name for p in out.iterdir()) == names
    for name in names:
        assert f"wrote {out / name}" in printed
    assert Image.open(out / "answer_image_map.png").size == sample_image().size
    # A folder where the file should go: nothing is written, and the reason is given.
    blocked = tmp_path / "blocked"
    (blocked / "answer.json").mkdir(parents=True)
    assert main(ask(files, "--max-new-tokens", "2", "--heatmaps", str(blocked))) == 2
    assert "a folder of that name is in the way" in capsys.readouterr().err


def test_answer_maps_are_written_as_overlays_beside_the_json(tmp_path):
    """Every map an analysis holds becomes a PNG overlay: on the image at its size, on the
    spectrogram (the tiny LLaVA has no audio), and over the prompt's words."""
    from mmstudio.explain.answer_render import write_answer_files
    from mmstudio.inputs.sample import Sample
    from mmstudio.result import GenerationAnalysis

    rng = np.random.default_rng(0)
    picture = sample_image()
    analysis = GenerationAnalysis(
        modalities=["image", "text", "audio"],
        present=["image", "text", "audio"],
        answer="a cat",
        answer_tokens=["a", " cat"],
        token_coalition_logprobs=np.zeros((8, 2)),
        token_shapley=np.zeros((2, 3)),
        answer_shapley=np.zeros(3),
        answer_image_map=rng.random((4, 6)).astype(np.float32),
        spectrogram=rng.random((16, 30)).astype(np.float32),
        answer_audio_map=rng.random(30).astype(np.float32),
        prompt_words=["what", "is", "this"],
        answer_word_map=np.array([0.2, 0.9, 0.1], dtype=np.float32),
    )
    written = write_answer_files(analysis, Sample(image=picture, text="what is this"), tmp_path)
    assert [p.name for p in written] == [
        "answer.json",
        "answer_image_map.png",
        "answer_audio_map.png",
        "answer_word_map.png",
    ]
    assert json.loads((tmp_path / "answer.json").read_text())["answer"] == "a cat"
    assert Image.open(tmp_path / "answer_image_map.png").size == picture.size
    assert Image.open(tmp_path / "answer_audio_map.png").size == (30 * 4, 16 * 4)
    # A map over the image differs from the image where the map is hot.
    overlay = np.asarray(Image.open(tmp_path / "answer_image_map.png"), dtype=np.int16)
    assert np.abs(overlay - np.asarray(picture, dtype=np.int16)).max() > 20


def test_the_installed_command_prints_the_json(files):
    """``python -m mmstudio`` as a user runs it: the folder opens by path in a fresh process."""
    import subprocess

    from tests.conftest import checkout_environment

    result = subprocess.run(
        [sys.executable, "-m", "mmstudio", *ask(files, "--json", "--max-new-tokens", "3")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**checkout_environment(), "HF_HUB_OFFLINE": "1", "MMSTUDIO_CPU_DTYPE": "float32"},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["task"] == "generation" and len(data["answer_tokens"]) == 3
    assert data["map_methods"] and "Traceback" not in result.stderr
