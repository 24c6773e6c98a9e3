"""The tiny model folders themselves: they reload offline, render their media placeholders,
and generate from real processor inputs."""

from __future__ import annotations

import pytest
import torch

from tests.generative.tiny_models import (
    FAMILIES,
    MODALITIES,
    MORE_FAMILIES,
    PLACEHOLDERS,
    sample_clip,
    sample_image,
    user_message,
)

IMAGE_TEXT_TO_TEXT = {"llava", "qwen2_vl", "qwen25_omni_thinker", *MORE_FAMILIES}


def load(folder):
    from transformers import AutoModelForMultimodalLM, AutoProcessor

    processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
    model = AutoModelForMultimodalLM.from_pretrained(folder, local_files_only=True).eval()
    return processor, model


def media_kwargs(family: str) -> dict:
    kwargs: dict = {}
    if "image" in MODALITIES[family]:
        kwargs["images"] = [sample_image()]
    if "audio" in MODALITIES[family]:
        kwargs["audio"] = [sample_clip()]
        kwargs["sampling_rate"] = 16000
    return kwargs


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_folder_holds_safetensors_only(tiny_model, family):
    folder = tiny_model(family)
    names = {path.name for path in folder.iterdir()}
    assert "model.safetensors" in names
    assert not any(name.endswith((".bin", ".pt", ".pth", ".ckpt")) for name in names), names
    size = sum(path.stat().st_size for path in folder.iterdir())
    assert size < 5_000_000, size


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_reloads_offline_through_auto_classes(tiny_model, family):
    from transformers import AutoConfig, AutoModelForImageTextToText

    folder = tiny_model(family)
    processor, model = load(folder)
    assert processor.chat_template
    assert (
        model.config.model_type
        == AutoConfig.from_pretrained(folder, local_files_only=True).model_type
    )
    if family in IMAGE_TEXT_TO_TEXT:
        other = AutoModelForImageTextToText.from_pretrained(folder, local_files_only=True)
        assert type(other) is type(model)
        theirs = other.state_dict()
        assert model.state_dict().keys() == theirs.keys()
        for name, mine in model.state_dict().items():
            assert torch.equal(mine, theirs[name]), name


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_chat_template_renders_placeholders_in_order(tiny_model, family):
    processor, _ = load(tiny_model(family))
    modalities = [m for m in MODALITIES[family] if m != "text"]
    # media after the question, to check the parts are rendered in the order given
    rendered = processor.apply_chat_template(
        [user_message(["text", *modalities], "what is this ?")],
        tokenize=False,
        add_generation_prompt=True,
    )
    question_at = rendered.index("what is this ?")
    for modality in modalities:
        placeholder = PLACEHOLDERS[family][modality]
        assert rendered.count(placeholder) == 1, rendered
        assert rendered.index(placeholder) > question_at, rendered
    without = processor.apply_chat_template(
        [user_message(["text"], "what is this ?")], tokenize=False, add_generation_prompt=False
    )
    assert all(p not in without for p in PLACEHOLDERS[family].values()), without
    assert len(without) < len(rendered)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_generates_five_tokens_from_real_inputs(tiny_model, family):
    processor, model = load(tiny_model(family))
    modalities = [m for m in MODALITIES[family] if m != "text"]
    rendered = processor.apply_chat_template(
        [user_message([*modalities, "text"], "what is in it ?")],
        tokenize=False,
        add_generation_prompt=True,
    )
    inputs = processor(text=[rendered], return_tensors="pt", **media_kwargs(family))
    prompt_length = inputs["input_ids"].shape[1]
    with torch.no_grad():
        first = model.generate(**inputs, max_new_tokens=5, do_sample=False)
        again = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert first.shape == (1, prompt_length + 5)
    assert torch.equal(first, again)  # greedy and seeded: the same answer twice
    assert torch.equal(first[0, :prompt_length], inputs["input_ids"][0])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_generates_from_a_text_only_prompt(tiny_model, family):
    # the contrastive "without the media" prompts: the chat template drops the placeholders
    processor, model = load(tiny_model(family))
    rendered = processor.apply_chat_template(
        [user_message(["text"], "hello there")], tokenize=False, add_generation_prompt=True
    )
    inputs = processor(text=[rendered], return_tensors="pt")
    assert not {"pixel_values", "input_features"} & set(inputs)
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert output.shape == (1, inputs["input_ids"].shape[1] + 5)


def test_omni_takes_audio_before_image(tiny_model):
    processor, model = load(tiny_model("qwen25_omni_thinker"))
    rendered = processor.apply_chat_template(
        [user_message(["audio", "text", "image"], "and this ?")],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert rendered.index("<|AUDIO|>") < rendered.index("and this ?") < rendered.index("<|IMAGE|>")
    inputs = processor(
        text=[rendered],
        images=[sample_image()],
        audio=[sample_clip()],
        sampling_rate=16000,
        return_tensors="pt",
    )
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert output.shape[1] == inputs["input_ids"].shape[1] + 5


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen25_omni_thinker"])
def test_dynamic_grid_follows_a_non_square_image(tiny_model, family):
    processor, _ = load(tiny_model(family))
    image_token = processor.image_token
    placeholder = PLACEHOLDERS[family]["image"]
    wide = processor(text=[placeholder], images=[sample_image(96, 64)], return_tensors="pt")
    tall = processor(text=[placeholder], images=[sample_image(64, 96)], return_tensors="pt")
    # 96x64 resizes to 84x56: 6 by 4 patches of 14, merged 2x2 into 3 by 2 tokens
    assert wide["image_grid_thw"].tolist() == [[1, 4, 6]]
    assert tall["image_grid_thw"].tolist() == [[1, 6, 4]]
    token_id = processor.tokenizer.convert_tokens_to_ids(image_token)
    assert (wide["input_ids"] == token_id).sum().item() == 6


@pytest.mark.parametrize("family", ["qwen2_audio", "qwen25_omni_thinker"])
@pytest.mark.parametrize("seconds", [1.0, 1.5])
def test_audio_tokens_cover_the_clip(tiny_model, family, seconds):
    processor, _ = load(tiny_model(family))
    placeholder = PLACEHOLDERS[family]["audio"]
    inputs = processor(
        text=[placeholder], audio=[sample_clip(seconds)], sampling_rate=16000, return_tensors="pt"
    )
    frames = inputs["feature_attention_mask"].sum().item()
    assert frames == int(seconds * 100)  # 10 ms mel frames over the real clip, not the padding
    token_id = processor.tokenizer.convert_tokens_to_ids(processor.audio_token)
    # one token per 40 ms: two stride-2 steps over the frames
    assert (inputs["input_ids"] == token_id).sum().item() == ((frames - 1) // 2 + 1 - 2) // 2 + 1


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_build_is_deterministic(tiny_model, family, tmp_path):
    first = tiny_model(family)
    second = FAMILIES[family](tmp_path / family)
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(path.name for path in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
