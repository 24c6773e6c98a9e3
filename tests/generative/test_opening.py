"""A generative model folder opens the way a user opens one, and reports what it computes in."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

from mmstudio import cli
from mmstudio.analysis import load_analyzer


def test_doctor_measures_the_precision_with_a_generative_folder(tiny_model):
    folder = tiny_model("qwen2_vl")
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["doctor", "--json", "--model", str(folder)]) == 0
    device = json.loads(out.getvalue())["device"]
    assert device["precision_model"] == "qwen2_vl"
    assert device["precision"] == device["weights_precision"] == "float32"


def test_the_analyzer_of_a_folder_is_a_generator_with_its_modalities(tiny_model):
    analyzer = load_analyzer(str(tiny_model("qwen25_omni_thinker")), "cpu")
    assert analyzer.generates and analyzer.task == "generation"
    assert analyzer.model.modalities == ("image", "text", "audio")
    assert analyzer.probe_compute_dtype() == "float32"
    audio_only = load_analyzer(str(tiny_model("qwen2_audio")), "cpu")
    assert audio_only.model.modalities == ("text", "audio")


def test_labels_are_refused_for_a_generative_model_in_its_own_words(tiny_model, capsys):
    folder = tiny_model("llava")
    capsys.readouterr()  # building the folder may print
    status = cli.main(["predict", "--model", str(folder), "--text", "hi", "--labels", "a,b"])
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        "mmstudio: --labels is for zero-shot classifiers such as clip-clap; 'llava' is a "
        "generative model: it answers in words"
    )
