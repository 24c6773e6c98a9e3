"""A batch of prompts that repeats an image or a clip processes it once, and gives the very
tensors the family's processor gives when it processes every copy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmstudio.inputs.sample import AudioClip
from mmstudio.models.generative import prompt, shared_media
from mmstudio.models.generative.maps import _masked_clips, _masked_images, _replace
from tests.generative.test_answers import full_sample, open_model
from tests.generative.tiny_models import FAMILIES


def explanation_rows(model, sample):
    """Rows as the explanation batches them: coalitions, masked media, a word left out."""
    rows = [sample, sample]
    coalitions = [tuple(sample.present), ("text",)]
    if sample.image is not None:
        rows += [_replace(sample, image=image) for image in _masked_images(sample.image)[0][:3]]
    if sample.audio is not None:
        clips, _ = _masked_clips(model.processor, sample.audio)
        rows += [_replace(sample, audio=clip) for clip in clips[:3]]
    rows += [_replace(sample, text="what is in the picture"), _replace(sample, text="the sound")]
    coalitions += [tuple(sample.present)] * (len(rows) - 2)
    if "image" in sample.present and "audio" in sample.present:
        rows.append(sample)
        coalitions.append(("image", "text"))
    return rows, coalitions


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_repeated_media_are_processed_once_with_the_same_tensors(family, tiny_model, monkeypatch):
    model = open_model(tiny_model(family))
    sample = full_sample(family)
    rows, coalitions = explanation_rows(model, sample)
    repeats = []
    original_repeat = shared_media._repeat

    def spy(output, row_sizes, order):
        repeated = original_repeat(output, row_sizes, order)
        # (distinct items processed, items asked for, whether the outputs could be shared)
        repeats.append((max(order) + 1, len(order), repeated is not None))
        return repeated

    monkeypatch.setattr(shared_media, "_repeat", spy)
    shared = prompt.processor_inputs(model.processor, model.style, rows, coalitions)
    monkeypatch.setattr(prompt, "sharing_media", lambda processor: processor)
    plain = prompt.processor_inputs(model.processor, model.style, rows, coalitions)
    assert sorted(shared.keys()) == sorted(plain.keys())
    for key in plain.keys():
        if torch.is_tensor(plain[key]):
            assert torch.equal(shared[key], plain[key]), key
        else:
            assert np.array_equal(np.asarray(shared[key]), np.asarray(plain[key])), key
    # Each sub-processor saw the distinct items only: fewer than the rows that hold media.
    assert repeats and all(count < items and shared for count, items, shared in repeats)


def test_distinct_items_pass_through_untouched(tiny_model):
    model = open_model(tiny_model("qwen2_audio"))
    clips = [AudioClip(np.full(16000, v, dtype=np.float32), 16000) for v in (0.1, 0.2)]
    extractor = shared_media.sharing_media(model.processor).feature_extractor
    arrays = [c.samples for c in clips]
    mine = extractor(arrays, sampling_rate=16000, return_tensors="pt")
    theirs = model.processor.feature_extractor(arrays, sampling_rate=16000, return_tensors="pt")
    assert torch.equal(mine["input_features"], theirs["input_features"])
