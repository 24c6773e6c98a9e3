"""Live analysis without Qt: a generative model's live answer is the single-shot path's answer,
explained the same way; live stopping ends it at its next token; ticks are paced one answer at
a time."""

from __future__ import annotations

import numpy as np
import pytest

from mmstudio.analysis import Analyzer, load_analyzer
from mmstudio.analysis.live import OneAtATime, analyze_live
from mmstudio.inputs.sample import AudioClip, Sample
from mmstudio.models.generative.options import GenerationOptions
from mmstudio.result import Analysis, GenerationAnalysis
from tests.core.helpers import tiny_model as tiny_classifier
from tests.generative.tiny_models import SAMPLING_RATE, sample_clip, sample_image

QUESTION = "what is this ?"


@pytest.fixture(scope="module")
def omni(tiny_model_folders) -> Analyzer:
    return load_analyzer(str(tiny_model_folders["qwen25_omni_thinker"]), "cpu")


def live_sample() -> Sample:
    return Sample(
        image=sample_image(), text=QUESTION, audio=AudioClip(sample_clip(), SAMPLING_RATE)
    )


def test_a_live_answer_is_the_single_shot_answer_explained_the_same_way(omni):
    options = GenerationOptions(max_new_tokens=6)
    live = analyze_live(omni, live_sample(), options)
    single = omni.generate(live_sample(), options)
    assert isinstance(live, GenerationAnalysis)
    assert live.present == ["image", "text", "audio"] and live.prompt == QUESTION
    assert live.answer_token_ids == single.answer_token_ids and live.token_count == 6
    np.testing.assert_allclose(live.token_shapley, single.token_shapley, atol=1e-6)
    np.testing.assert_allclose(
        live.token_coalition_logprobs, single.token_coalition_logprobs, atol=1e-6
    )
    # Exact per-token Shapley: the empty prompt's log-probability plus the values is the full's.
    values = live.token_coalition_logprobs
    np.testing.assert_allclose(values[0] + live.token_shapley.sum(1), values[-1], atol=1e-9)
    assert live.token_image_maps is not None and live.token_audio_maps is not None


def test_a_live_answer_leaves_out_the_contrastive_answers(omni):
    options = GenerationOptions(max_new_tokens=3, contrastive=True)
    live = analyze_live(omni, live_sample(), options)
    assert live.contrastive_answers == {}
    assert live.generation["contrastive"] is False
    assert omni.generate(live_sample(), options).contrastive_answers  # the window's path has them


def test_stopping_live_mode_stops_the_answer_at_its_next_token(omni):
    asked = []

    def stop_after_three() -> bool:
        asked.append(True)
        return len(asked) >= 3

    live = analyze_live(omni, live_sample(), GenerationOptions(max_new_tokens=64), stop_after_three)
    assert live.finished == "stopped"
    assert 1 <= live.token_count <= 3
    assert live.token_shapley is None  # a stopped answer is not explained
    assert any("not explained" in note for note in live.notes)


def test_a_classifier_predicts_live_as_it_always_did():
    analyzer = Analyzer(tiny_classifier("attention"), "cpu")
    sample = Sample(text="seven")
    live = analyze_live(analyzer, sample, GenerationOptions(), lambda: True)
    assert isinstance(live, Analysis)
    assert live.predicted_label == analyzer.analyze(sample).predicted_label


def test_one_answer_out_at_a_time_and_ticks_meanwhile_skipped():
    pacing = OneAtATime()
    first = pacing.begin()
    assert first is not None and pacing.busy
    assert pacing.begin() is None and pacing.begin() is None
    assert pacing.skipped == 2 and pacing.sent == 1
    assert pacing.end(first) and not pacing.busy
    second = pacing.begin()
    assert second is not None and second != first
    # Live mode stopped with an answer out: its late result is stale, and the next tick goes.
    pacing.reset()
    assert not pacing.busy and (pacing.sent, pacing.skipped) == (0, 0)
    assert not pacing.end(second)
    third = pacing.begin()
    assert not pacing.end(first) and pacing.busy  # an old ticket does not free the new one
    pacing.release()  # the answer out failed and will not report
    assert not pacing.busy and not pacing.end(third)
