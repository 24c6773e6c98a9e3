"""Modality swaps on the shipped model: the prediction follows a swapped-in modality when the
model relies on it."""

from __future__ import annotations

import pytest

from mmstudio.analysis import Analyzer
from mmstudio.explain.swaps import swap, swap_from, swapped
from mmstudio.inputs import InputError, load_audio, load_image
from mmstudio.inputs.donor import Donor
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


def test_a_donor_reads_only_the_swapped_modality_from_its_files(tmp_path):
    folder = samples_dir()
    note = tmp_path / "note.txt"
    note.write_text("  it is a   three \n", encoding="utf-8")
    # The audio path is broken: only a swap of the audio may try to read it.
    donor = Donor("the donor", image=folder / "digit_3.png", audio=tmp_path / "missing.wav")
    assert donor.sample("image").present == ("image",)
    assert Donor("a file", text_file=note).sample("text").text == "it is a three"
    with pytest.raises(InputError, match="missing.wav"):
        donor.sample("audio")
    assert not donor.has("text")
    with pytest.raises(InputError, match="the donor has no text to swap in"):
        donor.sample("text")
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n", encoding="utf-8")
    with pytest.raises(InputError, match="empty.txt has no text"):
        Donor("empty.txt", text_file=empty).sample("text")


def test_an_empty_current_sample_is_refused_before_any_analysis(analyzer):
    donor = Donor("the donor", text="three")
    with pytest.raises(InputError, match="the current sample is empty"):
        swap_from(analyzer, Sample(), donor, "text")


def test_the_verdict_says_whether_the_answer_followed_the_swap(analyzer):
    folder = samples_dir()
    outvoted = Sample(
        image=load_image(folder / "digit_3.png"),
        text="seven",
        audio=load_audio(folder / "seven.wav"),
    )
    followed = swap_from(
        analyzer, outvoted, Donor("three.wav", audio=folder / "three.wav"), "audio"
    )
    assert followed.verdict() == (
        "Swapping the audio changed the prediction from 7 to 3: it followed the audio."
    )
    assert followed.sample.audio is not outvoted.audio and followed.original is outvoted
    agree = Sample(image=load_image(folder / "digit_7.png"), text="seven")
    kept = swap_from(analyzer, agree, Donor("digit_7.png", image=folder / "digit_7.png"), "image")
    assert kept.verdict() == (
        "Swapping the image kept the prediction at 7: the swapped-in image alone says 7 too."
    )
