"""Deletion curves: the mechanics on a small model, the verdicts on the shipped one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from mmstudio.analysis import Analyzer
from mmstudio.explain.faithfulness import deletion_curves, summarize
from mmstudio.inputs import load_audio, load_image
from mmstudio.inputs.background import border_colour
from mmstudio.inputs.sample import Sample
from mmstudio.models.registry import get_entry, get_model
from mmstudio.resources import samples_dir
from tests.conftest import require_or_skip
from tests.core.helpers import random_sample, tiny_model


def alone_probability(analyzer: Analyzer, sample: Sample, label: int) -> float:
    return float(analyzer.analyze(sample).probabilities[label])


def test_the_curves_start_at_the_intact_input_and_end_with_everything_deleted():
    model = tiny_model("attention")
    analyzer = Analyzer(model, "cpu")
    sample = random_sample(2)
    analysis = analyzer.analyze(sample)
    label = analysis.predicted_index
    curves = deletion_curves(model, sample, analysis)
    assert set(curves) == {"image", "text", "audio"}
    for modality, curve in curves.items():
        assert curve.mass[0] == 0 and curve.mass[-1] == 1 and len(curve.mass) == 11
        assert np.all(np.diff(curve.removed) >= 0) and curve.removed[0] == 0
        assert curve.ranked[0] == pytest.approx(curve.random[0])
        alone = sample.without(*[m for m in ("image", "text", "audio") if m != modality])
        assert curve.ranked[0] == pytest.approx(alone_probability(analyzer, alone, label), abs=1e-5)
    # Every pixel of the map has some mass, so at 100% the image is all background.
    image = sample.image
    blank = Image.new("RGB", image.size, border_colour(image))
    assert curves["image"].removed[-1] == 1
    assert curves["image"].ranked[-1] == pytest.approx(
        alone_probability(analyzer, Sample(image=blank), label), abs=1e-5
    )
    # With every word deleted the text is absent: the empty coalition's probability.
    text = curves["text"]
    if text.removed[-1] == 1:
        empty = np.exp(analysis.shapley_base)
        assert text.ranked[-1] == pytest.approx(empty, abs=1e-5)


def test_a_map_without_mass_gets_no_curve():
    model = tiny_model("attention")
    sample = random_sample(3)
    analysis = Analyzer(model, "cpu").analyze(sample)
    flat = dataclasses.replace(analysis, token_weights=np.zeros_like(analysis.token_weights))
    assert "text" not in deletion_curves(model, sample, flat, modalities=["text"])


@pytest.fixture(scope="module")
def shipped():
    require_or_skip(get_entry("digits").available, "the shipped digits weights are missing")
    model = get_model("digits")
    folder = samples_dir()
    sample = Sample(
        image=load_image(folder / "digit_7.png"),
        text="I think it is a seven",
        audio=load_audio(folder / "seven.wav"),
    )
    return model, sample, Analyzer(model, "cpu").analyze(sample)


def test_the_shipped_maps_beat_random_deletion(shipped):
    model, sample, analysis = shipped
    curves = deletion_curves(model, sample, analysis, repeats=5)
    for modality in ("image", "text", "audio"):
        assert curves[modality].area_between > 0, modality
    # Deleting the one word that names the digit takes the text's evidence away at once.
    assert curves["text"].area_between > 0.5
    summary = summarize([curves, curves])
    assert summary["text"].records == 2 and summary["text"].beats_random == 1.0


def test_the_reversed_map_does_worse_than_the_map(shipped):
    model, sample, analysis = shipped
    reversed_text = dataclasses.replace(analysis, token_weights=1.0 - analysis.token_weights)
    ours = deletion_curves(model, sample, analysis, modalities=["text"])["text"]
    theirs = deletion_curves(model, sample, reversed_text, modalities=["text"])["text"]
    assert ours.area_between > theirs.area_between
