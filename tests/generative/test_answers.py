"""Generated answers explained token by token, for each family, against transformers' own
numbers: the answer is greedy ``generate``'s, the full prompt's token log-probabilities are a
plain teacher-forced forward pass's, and the per-token Shapley values add up."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmstudio.analysis import Analyzer
from mmstudio.inputs.sample import AudioClip, Sample
from mmstudio.models.generative.model import GenerativeModel, _with_answer
from mmstudio.models.generative.options import GenerationOptions
from mmstudio.models.registry import get_model
from tests.generative.tiny_models import CORE_FAMILIES, MODALITIES, sample_clip, sample_image

QUESTION = "what is in the picture and the sound ?"


def open_model(folder) -> GenerativeModel:
    """The folder opened as `--model DIR` opens it: through the registry's folder formats."""
    model = get_model(str(folder), "cpu")
    assert isinstance(model, GenerativeModel)
    return model


def full_sample(family: str, width: int = 96, height: int = 64) -> Sample:
    takes = MODALITIES[family]
    return Sample(
        image=sample_image(width, height) if "image" in takes else None,
        text=QUESTION,
        audio=AudioClip(sample_clip().astype(np.float32), 16000) if "audio" in takes else None,
    )


@pytest.fixture(params=sorted(CORE_FAMILIES))
def family(request) -> str:
    return request.param


def test_the_answer_is_transformers_own_greedy_generate(family, tiny_model):
    model = open_model(tiny_model(family))
    sample = full_sample(family)
    streamed: list[int] = []
    analysis = Analyzer(model, "cpu").generate(
        sample, GenerationOptions(max_new_tokens=7), on_token=streamed.append
    )
    inputs = model.prompt([sample], [sample.present])
    reference = model.hf_model.generate(**inputs, max_new_tokens=7, do_sample=False)
    expected = reference[0, inputs["input_ids"].shape[1] :].tolist()
    assert streamed[: len(analysis.answer_token_ids)] == analysis.answer_token_ids
    assert analysis.answer_token_ids == model._strip_end(expected)[0]
    assert "".join(analysis.answer_tokens) == analysis.answer == model.decode(expected)
    assert analysis.finished in {"eos", "length"}
    assert analysis.present == [m for m in analysis.modalities if m in sample.present]


def test_full_coalition_logprobs_are_a_plain_teacher_forced_pass(family, tiny_model):
    model = open_model(tiny_model(family))
    sample = full_sample(family)
    analysis = Analyzer(model, "cpu").generate(sample, GenerationOptions(max_new_tokens=6))
    ids = analysis.answer_token_ids
    # transformers alone: one unpadded prompt, the answer appended, one forward pass.
    inputs = _with_answer(model.prompt([sample], [sample.present]), ids)
    with torch.no_grad():
        logits = model.hf_model(**inputs).logits[0, -len(ids) - 1 : -1].float()
    expected = torch.log_softmax(logits, -1)[torch.arange(len(ids)), torch.tensor(ids)]
    np.testing.assert_allclose(analysis.token_coalition_logprobs[-1], expected.numpy(), atol=1e-5)


def test_batched_coalitions_equal_one_prompt_at_a_time(family, tiny_model):
    model = open_model(tiny_model(family))
    sample = full_sample(family)
    analysis = Analyzer(model, "cpu").generate(sample, GenerationOptions(max_new_tokens=5))
    ids = analysis.answer_token_ids
    for row, coalition in enumerate(analysis.coalitions):
        alone = model.answer_logprobs([sample], [tuple(coalition)], ids)[0]
        np.testing.assert_allclose(alone, analysis.token_coalition_logprobs[row], atol=1e-5)


def test_per_token_and_answer_shapley_values_add_up(family, tiny_model):
    model = open_model(tiny_model(family))
    analysis = Analyzer(model, "cpu").generate(
        full_sample(family), GenerationOptions(max_new_tokens=6)
    )
    values = analysis.token_coalition_logprobs
    tokens = len(analysis.answer_tokens)
    assert values.shape == (2 ** len(analysis.modalities), tokens)
    assert analysis.token_shapley.shape == (tokens, len(analysis.modalities))
    np.testing.assert_allclose(values[0] + analysis.token_shapley.sum(1), values[-1], atol=1e-9)
    np.testing.assert_allclose(analysis.token_shapley.sum(0), analysis.answer_shapley, atol=1e-9)
    np.testing.assert_allclose(
        values[0].sum() + analysis.answer_shapley.sum(), values[-1].sum(), atol=1e-9
    )
    assert not any("do not add up" in note for note in analysis.notes)


def test_an_absent_modality_is_a_dummy_player(tiny_model):
    model = open_model(tiny_model("qwen25_omni_thinker"))
    sample = full_sample("qwen25_omni_thinker").without("audio")
    analysis = Analyzer(model, "cpu").generate(sample, GenerationOptions(max_new_tokens=4))
    audio = analysis.modalities.index("audio")
    assert analysis.present == ["image", "text"]
    assert np.all(analysis.token_shapley[:, audio] == 0.0)
    assert set(analysis.shapley_of()) == {"image", "text"}


@pytest.mark.reference("shapiq")
def test_per_token_interactions_equal_shapiq(tiny_model):
    from tests.core.test_interactions import shapiq_reference

    model = open_model(tiny_model("qwen25_omni_thinker"))
    analysis = Analyzer(model, "cpu").generate(
        full_sample("qwen25_omni_thinker"), GenerationOptions(max_new_tokens=3)
    )
    from mmstudio.explain.shapley import coalition_masks

    masks = coalition_masks(len(analysis.modalities))
    games = [analysis.token_coalition_logprobs[:, t] for t in range(3)]
    games.append(analysis.token_coalition_logprobs.sum(1))
    computed = [*analysis.token_interactions, analysis.answer_interactions]
    for values, ours in zip(games, computed, strict=True):
        reference = shapiq_reference(values, masks)
        for pair, value in reference["shapley_interaction"].items():
            if len(pair) == 2:
                name = "+".join(analysis.modalities[p] for p in pair)
                assert ours["shapley_interaction"][name] == pytest.approx(value, abs=1e-9)
        for subset, value in reference["moebius"].items():
            if len(subset) >= 1:
                name = "+".join(analysis.modalities[p] for p in subset)
                assert ours["moebius"][name] == pytest.approx(value, abs=1e-9)


def test_qwen2_vl_attention_maps_follow_its_dynamic_grid_on_a_non_square_image(tiny_model):
    model = open_model(tiny_model("qwen2_vl"))
    model.map_methods = {"image": "attention"}
    wide = Analyzer(model, "cpu").generate(
        full_sample("qwen2_vl", 96, 64), GenerationOptions(max_new_tokens=3)
    )
    tall = Analyzer(model, "cpu").generate(
        full_sample("qwen2_vl", 64, 96), GenerationOptions(max_new_tokens=3)
    )
    # image_grid_thw [1, 4, 6] merged 2 x 2: two rows of three tokens, and the transpose.
    assert wide.token_image_maps.shape == (3, 2, 3) and tall.token_image_maps.shape == (3, 3, 2)
    assert wide.map_methods["image"] == "attention" and wide.image_map_box == [0, 0, 1, 1]
    assert wide.answer_image_map.shape == (2, 3)
    assert 0.0 <= wide.token_image_maps.min() and wide.token_image_maps.max() == 1.0


def test_a_centre_cropping_family_maps_only_the_part_it_sees(tiny_model):
    model = open_model(tiny_model("llava"))
    model.map_methods = {"image": "attention"}
    analysis = Analyzer(model, "cpu").generate(
        full_sample("llava", 96, 64), GenerationOptions(max_new_tokens=2)
    )
    # Short side resized to 56, the centre 56 x 56 cropped: the middle 64 of 96 columns.
    assert analysis.image_map_box == pytest.approx([16 / 96, 0.0, 80 / 96, 1.0])
    assert analysis.token_image_maps.shape == (2, 4, 4)


@pytest.mark.parametrize("method", ["attention", "occlusion"])
def test_audio_maps_span_the_clip(method, tiny_model):
    model = open_model(tiny_model("qwen2_audio"))
    model.map_methods = {"audio": method}
    sample = full_sample("qwen2_audio")
    analysis = Analyzer(model, "cpu").generate(sample, GenerationOptions(max_new_tokens=3))
    hop = analysis.spectrogram_hop_seconds
    frames = analysis.spectrogram.shape[1]
    assert frames * hop == pytest.approx(sample.audio.duration, abs=hop)
    assert analysis.token_audio_maps.shape == (3, frames)
    assert analysis.map_methods["audio"] == method
    # Every part of the clip carries a value: the first and the last tenth are mapped too.
    tenth = frames // 10
    for token in analysis.token_audio_maps:
        assert np.any(token[:tenth] != 0) and np.any(token[-tenth:] != 0)


def test_occlusion_maps_cover_image_cells_and_words(tiny_model):
    model = open_model(tiny_model("qwen25_omni_thinker"))
    sample = full_sample("qwen25_omni_thinker")
    analysis = Analyzer(model, "cpu").generate(
        sample, GenerationOptions(max_new_tokens=3, map_method="occlusion")
    )
    assert analysis.map_methods == {"image": "occlusion", "audio": "occlusion", "text": "occlusion"}
    assert set(analysis.signed_maps) == {"image", "audio", "text"}
    assert analysis.token_image_maps.shape == (3, 3, 5)  # 15 cells shaped like the 96 x 64 image
    assert analysis.prompt_words == QUESTION.split()
    assert analysis.token_word_maps.shape == (3, len(QUESTION.split()))
    for maps in (analysis.token_image_maps, analysis.token_audio_maps, analysis.token_word_maps):
        peaks = np.abs(maps.reshape(3, -1)).max(1)
        assert np.all((peaks == 1.0) | (peaks == 0.0))


def test_stopping_ends_generation_between_tokens_and_skips_the_explanation(tiny_model):
    model = open_model(tiny_model("llava"))
    seen: list[int] = []
    analysis = Analyzer(model, "cpu").generate(
        full_sample("llava"),
        GenerationOptions(max_new_tokens=50),
        on_token=seen.append,
        should_stop=lambda: len(seen) >= 3,
    )
    assert analysis.finished == "stopped"
    # The step under way when the stop came still finishes: its token is the last one.
    assert analysis.answer_token_ids == seen and 3 <= len(seen) <= 4
    assert analysis.token_shapley is None
    assert analysis.notes[-1] == f"stopped after {len(seen)} tokens: the answer is not explained"


def test_sampling_with_a_seed_repeats(tiny_model):
    model = open_model(tiny_model("qwen2_vl"))
    analyzer = Analyzer(model, "cpu")
    analyzer.explain = False
    options = GenerationOptions(max_new_tokens=8, do_sample=True, temperature=1.5, seed=7)
    first = analyzer.generate(full_sample("qwen2_vl"), options).answer_token_ids
    again = analyzer.generate(full_sample("qwen2_vl"), options).answer_token_ids
    other = analyzer.generate(
        full_sample("qwen2_vl"), GenerationOptions(max_new_tokens=8, do_sample=True, seed=8)
    ).answer_token_ids
    assert first == again and first != other


def test_contrastive_answers_leave_out_each_modality(tiny_model):
    model = open_model(tiny_model("qwen25_omni_thinker"))
    sample = full_sample("qwen25_omni_thinker")
    analysis = Analyzer(model, "cpu").generate(
        sample, GenerationOptions(max_new_tokens=4, contrastive=True)
    )
    assert set(analysis.contrastive_answers) == {"image", "text", "audio"}
    inputs = model.prompt([sample], [("text", "audio")])
    without_image = model.hf_model.generate(**inputs, max_new_tokens=4, do_sample=False)
    expected = model.decode(
        model._strip_end(without_image[0, inputs["input_ids"].shape[1] :].tolist())[0]
    )
    assert analysis.contrastive_answers["image"] == expected


def test_the_generation_analysis_round_trips_through_json(tiny_model):
    import json

    from mmstudio.result import GenerationAnalysis, analysis_from_dict

    model = open_model(tiny_model("qwen25_omni_thinker"))
    analysis = Analyzer(model, "cpu").generate(
        full_sample("qwen25_omni_thinker"), GenerationOptions(max_new_tokens=3)
    )
    data = json.loads(analysis.to_json())
    assert data["task"] == "generation"
    assert np.array(data["token_coalition_logprobs"]).shape == (8, 3)
    assert np.array(data["token_shapley"]).shape == (3, 3)
    assert len(data["answer_shapley"]) == 3 and len(data["answer_tokens"]) == 3
    back = analysis_from_dict(data)
    assert isinstance(back, GenerationAnalysis)
    np.testing.assert_array_equal(back.token_shapley, analysis.token_shapley)
    assert back.answer == analysis.answer and back.coalitions == analysis.coalitions


def test_a_clip_longer_than_the_model_hears_gets_a_note(tiny_model):
    model = open_model(tiny_model("qwen2_audio"))
    long_clip = AudioClip(sample_clip(seconds=6.0).astype(np.float32), 16000)
    analysis = Analyzer(model, "cpu").generate(
        Sample(text=QUESTION, audio=long_clip), GenerationOptions(max_new_tokens=2)
    )
    assert any(
        note.startswith("the model hears the first 4 s of the 6.0 s clip")
        for note in analysis.notes
    )
    # The maps cover what is heard: the spectrogram stops at the chunk.
    assert analysis.spectrogram.shape[1] * analysis.spectrogram_hop_seconds == pytest.approx(
        4.0, abs=0.02
    )


def test_a_modality_the_model_does_not_take_is_left_out_with_a_note(tiny_model):
    model = open_model(tiny_model("llava"))
    clip = AudioClip(sample_clip().astype(np.float32), 16000)
    analysis = Analyzer(model, "cpu").generate(
        Sample(image=sample_image(), text=QUESTION, audio=clip), GenerationOptions(max_new_tokens=2)
    )
    assert analysis.present == ["image", "text"]
    assert "the model 'llava' takes no audio; the audio was left out" in analysis.notes


def test_an_empty_answer_is_explained_as_empty(tiny_model):
    model = open_model(tiny_model("qwen2_vl"))
    analyzer = Analyzer(model, "cpu")
    first = analyzer.generate(full_sample("qwen2_vl"), GenerationOptions(max_new_tokens=1))
    # Make the token the model picks first its end of sequence: it answers with nothing.
    model.hf_model.generation_config.eos_token_id = first.answer_token_ids
    analysis = analyzer.generate(full_sample("qwen2_vl"), GenerationOptions(max_new_tokens=5))
    assert analysis.finished == "eos" and analysis.answer == "" and analysis.answer_tokens == []
    assert analysis.token_coalition_logprobs.shape == (4, 0)
    assert analysis.token_shapley.shape == (0, 2) and not analysis.answer_shapley.any()
    assert "the model's answer is empty: there is no token to explain" in analysis.notes
    assert analysis.token_image_maps is None
    analysis.to_json()


def test_attention_is_the_default_and_every_modality_is_mapped(tiny_model):
    model = open_model(tiny_model("qwen25_omni_thinker"))
    analysis = Analyzer(model, "cpu").generate(
        full_sample("qwen25_omni_thinker"), GenerationOptions(max_new_tokens=3)
    )
    assert analysis.map_methods == {"image": "attention", "audio": "attention", "text": "attention"}
    assert analysis.signed_maps == []
    assert analysis.token_image_maps.shape == (3, 2, 3)  # the 96 x 64 image's merged grid
    assert analysis.token_word_maps.shape == (3, len(QUESTION.split()))


def test_an_unknown_map_method_is_refused():
    from mmstudio.inputs.errors import InputError

    with pytest.raises(InputError, match="unknown map method 'saliency'"):
        GenerationOptions(map_method="saliency")
