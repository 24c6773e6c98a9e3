"""Modality swaps on the shipped model: the prediction follows a swapped-in modality when the
model relies on it."""

from __future__ import annotations

import pytest

from mmstudio.analysis import Analyzer
from mmstudio.explain.swaps import swap, swapped
from mmstudio.inputs import load_audio, load_image
from mmstudio.inputs.sample import Sample
from mmstudio.models.registry import get_entry, get_model
from mmstudio.resources import samples_dir
from tests.conftest import require_or_skip


def test_swapped_replaces_only_that_modality():
    sample, donor = Sample(text="seven", image=None), Sample(text="three")
    assert swapped(sample, donor, "text").text == "three"
    assert swapped(sample, donor, "image").image is None
    with pytest.raises(ValueError, match="unknown modality"):
        swapped(sample, donor, "video")


@pytest.fixture(scope="module")
def analyzer():
    require_or_skip(get_entry("digits").available, "the shipped digits weights are missing")
    return Analyzer(get_model("digits"), "cpu")


def test_a_swap_that_changes_the_prediction_follows_the_swapped_modality(analyzer):
    folder = samples_dir()
    # The "outvoted image" example: the image says 3, speech and text say seven; answer 7.
    outvoted = Sample(
        image=load_image(folder / "digit_3.png"),
        text="seven",
        audio=load_audio(folder / "seven.wav"),
    )
    outcome = swap(analyzer, outvoted, Sample(audio=load_audio(folder / "three.wav")), "audio")
    assert outcome.before.predicted_label == "7" and outcome.donor_says == "3"
    # Now image and speech say 3 against the text's seven: the answer follows the speech.
    assert outcome.after.predicted_label == "3" and outcome.changed and outcome.follows
    assert outcome.after.shapley["audio"] > 0 > outcome.before.shapley["image"]


def test_a_swap_against_two_agreeing_modalities_does_not_follow(analyzer):
    folder = samples_dir()
    agree = Sample(
        image=load_image(folder / "digit_7.png"),
        text="I think it is a seven",
        audio=load_audio(folder / "seven.wav"),
    )
    outcome = swap(analyzer, agree, Sample(image=load_image(folder / "digit_3.png")), "image")
    assert outcome.donor_says == "3" and outcome.after.predicted_label == "7"
    assert not outcome.changed and not outcome.follows


def test_a_donor_without_the_modality_is_refused(analyzer):
    with pytest.raises(ValueError, match="has no audio"):
        swap(analyzer, Sample(text="seven"), Sample(text="three"), "audio")
