"""Families nobody special-cased, opened and explained through the generic path alone: their
processors follow the conventions (a chat template with typed parts, placeholder tokens the
processor expands, the config naming the token the features fill), so the answer, its
coalition log-probabilities, its Shapley values and its maps come out as for the four families
the issue requires, checked against transformers' own numbers. Folders that do not follow them
are refused with what is missing."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from mmstudio.analysis import Analyzer
from mmstudio.inputs.errors import InputError
from mmstudio.models.generative import folder as folder_checks
from mmstudio.models.generative.model import _with_answer
from mmstudio.models.generative.options import GenerationOptions
from mmstudio.models.registry import get_model
from tests.conftest import require_or_skip
from tests.generative.test_answers import QUESTION, full_sample, open_model
from tests.generative.tiny_models import MORE_FAMILIES, REFUSED_FAMILIES

# The token each family's model fills with the image's features (its config's image token):
# for Gemma 3 the soft token, not the begin-of-image token its processor calls image_token.
FILLED_TOKENS = {
    "qwen25_vl": ["<|image_pad|>", "<|video_pad|>"],
    "gemma3": ["<image_soft_token>"],
    "llava_next": ["<image>"],
    "llava_onevision": ["<image>", "<video>"],
    "idefics3": ["<image>"],
}
# The grid attention maps lay over a 96 x 64 image, or None where the processor tiles the image
# (AnyRes: a base view plus crops), which no one grid places.
ATTENTION_GRIDS = {
    "qwen25_vl": (2, 3),  # image_grid_thw [1, 4, 6] merged 2 x 2
    "gemma3": (4, 4),  # 8 x 8 patches pooled to 16 soft tokens
    "llava_next": None,
    "llava_onevision": None,
    "idefics3": (2, 2),  # 4 x 4 patches pixel-shuffled by 2
}
TILES_NOTE = "attention maps cannot place this model's image tokens; the image map shows occlusion"


@pytest.fixture(params=sorted(MORE_FAMILIES))
def family(request) -> str:
    return request.param


def test_every_family_has_its_expectations():
    assert set(FILLED_TOKENS) == set(ATTENTION_GRIDS) == set(MORE_FAMILIES)


def test_the_answer_is_transformers_greedy_generate(family, tiny_model):
    model = open_model(tiny_model(family))
    filled = [model.tokenizer.convert_tokens_to_ids(t) for t in FILLED_TOKENS[family]]
    assert model.placeholder_ids() == sorted(filled)
    sample = full_sample(family)
    streamed: list[int] = []
    analysis = Analyzer(model, "cpu").generate(
        sample, GenerationOptions(max_new_tokens=7), on_token=streamed.append
    )
    inputs = model.prompt([sample], [sample.present])
    # transformers alone, told only never to write a token the image's features fill.
    reference = model.hf_model.generate(
        **inputs, max_new_tokens=7, do_sample=False, suppress_tokens=filled
    )
    expected = reference[0, inputs["input_ids"].shape[1] :].tolist()
    assert analysis.answer_token_ids == model._strip_end(expected)[0]
    assert streamed[: len(analysis.answer_token_ids)] == analysis.answer_token_ids
    assert analysis.answer == model.decode(expected) and analysis.answer_tokens
    assert not set(analysis.answer_token_ids) & set(filled)


def test_full_coalition_logprobs_are_a_plain_teacher_forced_pass(family, tiny_model):
    model = open_model(tiny_model(family))
    sample = full_sample(family)
    analysis = Analyzer(model, "cpu").generate(sample, GenerationOptions(max_new_tokens=6))
    ids = analysis.answer_token_ids
    inputs = _with_answer(model.prompt([sample], [sample.present]), ids)
    with torch.no_grad():
        logits = model.hf_model(**inputs).logits[0, -len(ids) - 1 : -1].float()
    expected = torch.log_softmax(logits, -1)[torch.arange(len(ids)), torch.tensor(ids)]
    assert analysis.coalitions[-1] == ["image", "text"]
    np.testing.assert_allclose(analysis.token_coalition_logprobs[-1], expected.numpy(), atol=1e-5)


def test_batched_coalitions_equal_one_prompt_at_a_time(family, tiny_model):
    model = open_model(tiny_model(family))
    sample = full_sample(family)
    analysis = Analyzer(model, "cpu").generate(sample, GenerationOptions(max_new_tokens=5))
    ids = analysis.answer_token_ids
    assert len(analysis.coalitions) == 4  # (), image, text, both: one left-padded batch
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
    assert tokens > 0 and values.shape == (4, tokens)
    assert analysis.token_shapley.shape == (tokens, 2)
    np.testing.assert_allclose(values[0] + analysis.token_shapley.sum(1), values[-1], atol=1e-9)
    np.testing.assert_allclose(analysis.token_shapley.sum(0), analysis.answer_shapley, atol=1e-9)
    assert not any("do not add up" in note for note in analysis.notes)


def test_occlusion_maps_cover_image_cells_and_words(family, tiny_model):
    model = open_model(tiny_model(family))
    analysis = Analyzer(model, "cpu").generate(
        full_sample(family), GenerationOptions(max_new_tokens=3, map_method="occlusion")
    )
    assert analysis.map_methods == {"image": "occlusion", "text": "occlusion"}
    assert analysis.token_image_maps.shape == (3, 3, 5)  # 15 cells shaped like 96 x 64
    assert analysis.image_map_box == [0, 0, 1, 1]
    assert analysis.prompt_words == QUESTION.split()
    assert analysis.token_word_maps.shape == (3, len(QUESTION.split()))
    assert analysis.answer_image_map.shape == (3, 5)
    # Masking some cell or word moved some token's log-probability: the maps are not blank.
    assert np.abs(analysis.token_image_maps).max() == 1.0
    assert np.abs(analysis.token_word_maps).max() == 1.0


def test_attention_maps_place_the_image_grid_or_fall_back_with_a_note(family, tiny_model):
    model = open_model(tiny_model(family))
    model.map_methods = {"image": "attention", "text": "attention"}
    analysis = Analyzer(model, "cpu").generate(
        full_sample(family), GenerationOptions(max_new_tokens=3)
    )
    grid = ATTENTION_GRIDS[family]
    # The words are a run of the prompt's tokens in every family: attention places them.
    assert analysis.map_methods["text"] == "attention"
    assert analysis.token_word_maps.shape == (3, len(QUESTION.split()))
    if grid is None:
        assert analysis.map_methods["image"] == "occlusion"
        assert TILES_NOTE in analysis.notes
        assert analysis.token_image_maps.shape == (3, 3, 5)
    else:
        assert analysis.map_methods["image"] == "attention" and TILES_NOTE not in analysis.notes
        assert analysis.token_image_maps.shape == (3, *grid)
        assert analysis.image_map_box == [0, 0, 1, 1]  # resized whole, never cropped
        assert 0.0 <= analysis.token_image_maps.min() and analysis.token_image_maps.max() == 1.0
    # The maps were computed with eager attention; the model is back on its own after.
    assert model.hf_model.config._attn_implementation == "sdpa"


def test_qwen25_vl_attention_maps_follow_its_dynamic_grid_on_a_non_square_image(tiny_model):
    model = open_model(tiny_model("qwen25_vl"))
    model.map_methods = {"image": "attention"}
    tall = Analyzer(model, "cpu").generate(
        full_sample("qwen25_vl", 64, 96), GenerationOptions(max_new_tokens=2)
    )
    assert tall.token_image_maps.shape == (2, 3, 2)  # image_grid_thw [1, 6, 4]


# --- folders refused, with what is missing ------------------------------------------------------


def refusal(folder) -> str:
    with pytest.raises(InputError) as caught:
        get_model(str(folder), "cpu")
    return str(caught.value)


def test_paligemma_without_a_chat_template_is_refused_as_such(tmp_path, hub_offline):
    folder = REFUSED_FAMILIES["paligemma"](tmp_path / "paligemma")
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    message = refusal(folder)
    assert "the folder has no chat template" in message
    assert "mmstudio needs it to build the prompt" in message


def test_smolvlm_without_num2words_names_the_package_and_the_extra(tmp_path, hub_offline):
    require_or_skip(
        importlib.util.find_spec("num2words") is None,
        "num2words is installed, so a SmolVLM folder has nothing missing",
    )
    folder = REFUSED_FAMILIES["smolvlm"](tmp_path / "smolvlm")
    message = refusal(folder)
    assert "needs the Python package 'num2words', which is not installed" in message
    assert 'pip install "mmstudio[vlm]"' in message


def test_a_missing_package_the_list_does_not_know_is_named_from_the_processor(
    tmp_path, hub_offline, monkeypatch
):
    # Without the folder check's list, the processor's own ImportError still names the package.
    require_or_skip(
        importlib.util.find_spec("num2words") is None,
        "num2words is installed, so the SmolVLM processor loads",
    )
    folder = REFUSED_FAMILIES["smolvlm"](tmp_path / "smolvlm")
    monkeypatch.delitem(folder_checks.EXTRA_PACKAGES, "smolvlm")
    assert folder_checks.inspect_folder(folder).problem == ""
    message = refusal(folder)
    assert "the smolvlm family needs the Python package 'num2words'" in message
    assert 'pip install "mmstudio[vlm]"' in message


@pytest.mark.parametrize("family", ["llava_next", "llava_onevision"])
def test_tiles_whose_token_count_is_square_are_still_not_one_grid(family, tiny_model):
    model = open_model(tiny_model(family))
    model.map_methods = {"image": "attention"}
    sample = full_sample(family, 64, 96)
    ids = model.prompt([sample], [sample.present])["input_ids"][0]
    # A tall image: 2 x 4 unpadded tile cells, 4 row ends and a 2 x 2 base view, 16 tokens.
    assert int((ids == model.placeholder_ids()[0]).sum()) == 16
    analysis = Analyzer(model, "cpu").generate(sample, GenerationOptions(max_new_tokens=2))
    assert analysis.map_methods["image"] == "occlusion" and TILES_NOTE in analysis.notes
    assert analysis.token_image_maps.shape == (2, 5, 3)  # the occlusion cells of a 64 x 96 image


def test_idefics3_split_images_fall_back_to_occlusion(tiny_model):
    # Idefics3 as published splits a large image into crops plus a global view; the folder's
    # processor is switched to that here (crops of 56 over a 112-pixel long edge).
    model = open_model(tiny_model("idefics3"))
    images = model.processor.image_processor
    images.do_image_splitting, images.size = True, {"longest_edge": 112}
    model.map_methods = {"image": "attention"}
    sample = full_sample("idefics3")
    assert model.prompt([sample], [sample.present])["pixel_values"].shape[:2] == (1, 5)
    analysis = Analyzer(model, "cpu").generate(sample, GenerationOptions(max_new_tokens=2))
    assert analysis.map_methods["image"] == "occlusion" and TILES_NOTE in analysis.notes
    assert analysis.token_image_maps.shape == (2, 3, 5)
    values = analysis.token_coalition_logprobs
    np.testing.assert_allclose(values[0] + analysis.token_shapley.sum(1), values[-1], atol=1e-9)


def test_gemma3_pan_and_scan_crops_are_not_laid_on_one_grid(tiny_model):
    from mmstudio.models.generative import layout

    model = open_model(tiny_model("gemma3"))
    sample = full_sample("gemma3", 150, 50)
    whole = model.prompt([sample], [sample.present])
    placed = layout.image_layout(model.processor, model.hf_model.config, whole, (150, 50))
    assert placed is not None and placed.grid == (4, 4) and len(placed.positions) == 16
    # Pan and scan (a processor option): the whole image plus 3 crops, 64 soft tokens, a
    # square count that is no 8 x 8 grid over the image.
    rendered = model.processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}],
        tokenize=False,
        add_generation_prompt=True,
    )
    crops = model.processor(
        text=[rendered],
        images=[[sample.image]],
        do_pan_and_scan=True,
        pan_and_scan_min_crop_size=16,
        return_tensors="pt",
    )
    assert crops["pixel_values"].shape[0] == 4
    assert (
        len(layout.placeholder_positions(model.processor, model.hf_model.config, crops, "image"))
        == 64
    )
    assert layout.image_layout(model.processor, model.hf_model.config, crops, (150, 50)) is None
