"""The command line, run as a user runs it: a subprocess of ``python -m mmstudio``."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from PIL import Image

from mmstudio.models import save_checkpoint
from tests.core.helpers import tiny_model


def run_cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "mmstudio", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    save_checkpoint(tiny_model(), folder / "model")
    Image.new("RGB", (40, 30), "white").save(folder / "digit.png")
    tone = 0.3 * np.sin(np.linspace(0, 440 * 2 * np.pi, 16000)).astype("float32")
    soundfile.write(folder / "tone.wav", tone, 16000)
    (folder / "broken.png").write_bytes(b"this is just text, renamed")
    return folder


def test_predict_prints_a_readable_summary(inputs):
    result = run_cli(
        "predict",
        "--image",
        str(inputs / "digit.png"),
        "--text",
        "seven",
        "--audio",
        str(inputs / "tone.wav"),
        "--model",
        str(inputs / "model"),
    )
    assert result.returncode == 0, result.stderr
    assert "Prediction:" in result.stdout and "exact Shapley" in result.stdout
    assert "base (no input)" in result.stdout


def test_predict_json_and_heatmaps_with_any_subset(inputs, tmp_path):
    result = run_cli(
        "predict",
        "--text",
        "sept",
        "--audio",
        str(inputs / "tone.wav"),
        "--model",
        str(inputs / "model"),
        "--json",
        "--heatmaps",
        str(tmp_path / "maps"),
    )
    assert result.returncode == 0, result.stderr
    analysis = json.loads(result.stdout)
    assert analysis["present"] == ["text", "audio"]
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == [
        "audio_heatmap.png",
        "text_heatmap.png",
    ]
    assert Image.open(tmp_path / "maps" / "audio_heatmap.png").size[0] > 100


def test_bad_input_exits_non_zero_with_the_reason(inputs):
    result = run_cli(
        "predict", "--image", str(inputs / "broken.png"), "--model", str(inputs / "model")
    )
    assert result.returncode == 2
    assert "broken.png" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("predict", "--model", str(inputs / "model"))
    assert result.returncode == 2 and "at least one of" in result.stderr


def test_models_lists_the_builtin_model_and_where_its_weights_are():
    result = run_cli("models")
    assert result.returncode == 0
    assert "digits" in result.stdout and "weights:" in result.stdout
    # Each entry says its task, between its source and its state.
    assert "digits  [built-in]  classification  " in result.stdout, result.stdout


def test_module_and_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("mmstudio ")
