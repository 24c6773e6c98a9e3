"""The tiny model folders themselves: they reload offline, render their media placeholders,
and generate from real processor inputs."""

from __future__ import annotations

import pytest
import torch

from tests.generative.tiny_models import (
    FAMILIES,
    MODALITIES,
    sample_clip,
    sample_image,
    user_message,
)

IMAGE_TEXT_TO_TEXT = {"llava", "qwen2_vl", "qwen25_omni_thinker"}
PLACEHOLDERS = {
    "llava": {"image": "<image>"},
    "qwen2_vl": {"image": "<|vision_start|><|image_pad|><|vision_end|>"},
    "qwen2_audio": {"audio": "<|audio_bos|><|AUDIO|><|audio_eos|>"},
    "qwen25_omni_thinker": {
        "image": "<|vision_bos|><|IMAGE|><|vision_eos|>",
        "audio": "<|audio_bos|><|AUDIO|><|audio_eos|>",
    },
}


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
