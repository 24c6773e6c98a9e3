"""The feature bank: banked encoder tokens give the model exactly the logits its own forward
gives, augmented variants differ from the clean one, and training on the bank moves the
decoder alone."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from mmstudio.training.chat.architecture import build_digits_chat, encoder_of
from mmstudio.training.chat.augment import MEDIA_AUGMENTATION, MediaAugmenter
from mmstudio.training.chat.batches import Encoder, collate
from mmstudio.training.chat.data import build_chat_records
from mmstudio.training.chat.features import FeatureBank
from mmstudio.training.chat.train import ChatTrainSettings, train_chat
from tests.chat.helpers import TEST_SIZE, write_fake_digits

# The shipped augmenter leaves some variants as they were (an affine change 8 times in 10):
# here every variant is rotated, so "differs from the file" holds for each one.
ALWAYS_MOVED = MediaAugmenter(base=replace(MEDIA_AUGMENTATION, image_affine=1.0))


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    digits = write_fake_digits(tmp_path_factory.mktemp("digits"), splits=("train",))
    return build_chat_records(digits, 16, seed=3)


def test_banked_tokens_give_the_models_own_logits(records):
    torch.set_num_threads(1)
    parts = build_digits_chat(TEST_SIZE)
    model = parts.model.eval()
    bank = FeatureBank(model, parts.processor, augmenter=None)
    bank.build(records)
    assert all(len(v) == 1 for v in [*bank.images.values(), *bank.audio.values()])
    batch = bank.batch(records, np.random.default_rng(0))
    assert "pixel_values" not in batch and "input_features" not in batch
    encoder = Encoder(parts.processor)
    direct = collate([encoder.example(r) for r in records], encoder.pad_id)
    assert torch.equal(batch["input_ids"], direct["input_ids"])
    with torch.no_grad():
        banked = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        own = model(**{k: v for k, v in direct.items() if k != "labels"}).logits
    assert torch.allclose(banked, own, atol=1e-4)


def test_augmented_variants_differ_from_the_file_and_repeat(records):
    parts = build_digits_chat(TEST_SIZE)
    images = [r for r in records if r.image is not None][:2]
    banks = []
    for _ in range(2):
        bank = FeatureBank(parts.model, parts.processor, augmenter=ALWAYS_MOVED, variants=2)
        bank.build(images)
        banks.append(bank)
    for path, variants in banks[0].images.items():
        assert len(variants) == 3
        assert not torch.allclose(variants[0].tokens, variants[1].tokens)
        again = banks[1].images[path]
        assert all(torch.equal(a.tokens, b.tokens) for a, b in zip(variants, again, strict=True))


def test_training_on_the_bank_moves_the_decoder_alone(records, tmp_path):
    parts = build_digits_chat(TEST_SIZE)
    before = {n: p.detach().clone() for n, p in parts.model.named_parameters()}

    def bank(model, processor):
        built = FeatureBank(model, processor, augmenter=MediaAugmenter(), variants=1)
        built.build(records)
        return built

    settings = ChatTrainSettings(steps=2, batch_size=4, lr=3e-3, log_every=1)
    events = list(train_chat(tmp_path, records, settings, parts=parts, bank=bank))
    assert [e.kind for e in events][:3] == ["start", "bank", "step"]
    assert events[-1].kind == "done"
    moved = {n for n, p in parts.model.named_parameters() if not torch.equal(p, before[n])}
    assert moved and not any(encoder_of(n) for n in moved)
