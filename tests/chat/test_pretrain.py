"""Pretraining the encoders on digit classification changes the encoders and nothing else."""

from __future__ import annotations

import pytest
import torch

from mmstudio.training.chat.architecture import build_digits_chat, encoder_of
from mmstudio.training.chat.pretrain import EncoderPretraining
from mmstudio.training.chat.train import ChatTrainSettings, make_optimizer
from tests.chat.helpers import TEST_SIZE, write_fake_digits


def test_pretraining_moves_only_the_encoders_and_reports_accuracy(tmp_path):
    torch.set_num_threads(1)
    digits = write_fake_digits(tmp_path / "digits", splits=("train",))
    parts = build_digits_chat(TEST_SIZE)
    before = {n: p.detach().clone() for n, p in parts.model.named_parameters()}
    settings = ChatTrainSettings(steps=3, batch_size=10, lr=3e-3, log_every=1)
    pretraining = EncoderPretraining(parts.model, parts.processor, settings)
    events = list(pretraining.run(digits))
    assert [e.kind for e in events] == ["step", "step", "step", "done"]
    assert all(set(e.metrics) == {"image_accuracy", "audio_accuracy"} for e in events[:3])
    for name, param in parts.model.named_parameters():
        moved = not torch.equal(param, before[name])
        encoder = encoder_of(name) is not None
        if not encoder:
            assert not moved, name
    assert any(
        not torch.equal(p, before[n])
        for n, p in parts.model.named_parameters()
        if encoder_of(n) == "audio_tower"
    )
    accuracy = pretraining.accuracy(digits)
    assert set(accuracy) == {"image", "audio"}
    assert all(0.0 <= value <= 1.0 for value in accuracy.values())


def test_the_optimizer_slows_the_encoders_by_their_scale():
    parts = build_digits_chat(TEST_SIZE)
    optimizer = make_optimizer(parts.model, ChatTrainSettings(encoder_lr_scale=0.25))
    names = {id(p): n for n, p in parts.model.named_parameters()}
    seen = 0
    for group in optimizer.param_groups:
        encoder = {encoder_of(names[id(p)]) is not None for p in group["params"]}
        assert len(encoder) == 1
        assert group["scale"] == (0.25 if encoder.pop() else 1.0)
        decayed = {p.ndim >= 2 for p in group["params"]}
        assert decayed == {group["weight_decay"] > 0}
        seen += len(group["params"])
    assert seen == len(names)


def test_pretraining_one_medium_trains_that_encoder_alone(tmp_path):
    digits = write_fake_digits(tmp_path / "digits", splits=("train",))
    parts = build_digits_chat(TEST_SIZE)
    before = {n: p.detach().clone() for n, p in parts.model.named_parameters()}
    settings = ChatTrainSettings(steps=2, batch_size=10, lr=3e-3, log_every=1)
    pretraining = EncoderPretraining(
        parts.model, parts.processor, settings, media=("image",), lr_scale={"image": 0.5}
    )
    events = list(pretraining.run(digits))
    assert set(events[0].metrics) == {"image_accuracy"}
    moved = {n for n, p in parts.model.named_parameters() if not torch.equal(p, before[n])}
    assert moved and all(encoder_of(n) == "visual" for n in moved)
    assert set(pretraining.accuracy(digits)) == {"image"}
    with pytest.raises(ValueError, match="media must be"):
        EncoderPretraining(parts.model, parts.processor, settings, media=("text",))
