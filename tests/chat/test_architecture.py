"""The digits-chat model folder: built offline, within its size, opened by the studio's own
generative path, fed by batches equal to the processor's."""

from __future__ import annotations

import pytest
import torch

from mmstudio.models.generative.model import GenerativeModel
from mmstudio.models.generative.prompt import ProcessorStyle, processor_inputs
from mmstudio.models.registry import get_model
from mmstudio.training.chat import questions as q
from mmstudio.training.chat.architecture import (
    DIGITS_CHAT_SIZE,
    OMNI_SPECIALS,
    UNK,
    build_digits_chat,
    save_folder,
)
from mmstudio.training.chat.batches import Encoder, collate
from mmstudio.training.chat.data import build_chat_records, to_sample
from tests.chat.helpers import TEST_SIZE, write_fake_digits

MAX_BYTES = 30 * 10**6


@pytest.fixture(scope="module")
def parts():
    return build_digits_chat(TEST_SIZE)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return write_fake_digits(tmp_path_factory.mktemp("digits"), splits=("train",))


def test_the_shipped_size_fits_in_30_mb_of_float32():
    full = build_digits_chat(DIGITS_CHAT_SIZE)
    counts = full.parameter_counts()
    assert set(counts) == {"visual", "audio_tower", "language_model"}
    assert 1_000_000 < full.parameters <= MAX_BYTES // 4
    assert full.model.get_input_embeddings().weight is full.model.get_output_embeddings().weight


def test_tokenizer_keeps_known_words_whole_and_spells_out_the_rest(parts):
    tokenizer = parts.processor.tokenizer
    for token in OMNI_SPECIALS:
        assert len(tokenizer.encode(token, add_special_tokens=False)) == 1
    for word in ["seven", "Seven", "sum", "picture", "sieben", "семь", "七"]:
        assert tokenizer.tokenize(word) == [word]
    for typed in ["sevne", "pretty sure thats a 7", "きっとななだ", "четре", "我猜是九"]:
        pieces = tokenizer.tokenize(typed)
        assert UNK not in pieces
        assert tokenizer.decode(tokenizer.convert_tokens_to_ids(pieces)).replace(" ", "") == (
            typed.replace(" ", "")
        )


def test_every_answer_decodes_to_itself(parts):
    tokenizer = parts.processor.tokenizer
    digits = {"image": 7, "audio": 3, "text": 9}
    answers = {
        q.answer(kind, pair, digits, present)
        for kind in q.PAIR_KINDS
        for pair in q.PAIRS
        for present in [q.SOURCES, ("text",), ("image", "text"), ("audio", "text")]
    }
    answers |= {q.answer(k, (k,), digits, q.SOURCES) for k in q.SINGLE_KINDS}
    answers |= {q.answer("describe", (), digits, ("image", "audio"))}
    for answer in answers:
        ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
        assert tokenizer.unk_token_id not in ids
        assert tokenizer.decode(ids) == answer


def test_saved_folder_opens_through_get_model_and_answers(parts, digits, tmp_path, monkeypatch):
    monkeypatch.setenv("MMSTUDIO_CPU_DTYPE", "float32")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = save_folder(parts.model, parts.processor, tmp_path / "digits-chat")
    model = get_model(folder)
    assert isinstance(model, GenerativeModel)
    assert set(model.modalities) == {"image", "audio", "text"}
    reloaded = dict(model.hf_model.named_parameters())
    for name, param in parts.model.named_parameters():
        assert torch.equal(reloaded[name], param), name
    record = next(r for r in build_chat_records(digits, 40, seed=0) if len(r.present) == 3)
    from mmstudio.models.generative.options import GenerationOptions

    answer = model.generate(to_sample(record), GenerationOptions(max_new_tokens=5))
    assert answer.prompt_tokens > 0 and 1 <= len(answer.token_ids) + (answer.finished == "eos")


def test_batches_equal_the_processors_inputs(parts, digits):
    """Every combination of media: the encoder's prompt, patches and features are the
    processor's own, so training sees the prompts the studio sends."""
    encoder = Encoder(parts.processor)
    style = ProcessorStyle.of(parts.processor)
    records = build_chat_records(digits, 200, seed=3)
    seen = set()
    for record in records:
        combination = (record.present, record.kind == "describe")
        if combination in seen:
            continue
        seen.add(combination)
        sample = to_sample(record)
        expected = processor_inputs(parts.processor, style, [sample], [sample.present])
        example = encoder.example(record)
        assert expected["input_ids"][0].tolist() == example.prompt_ids
        if "pixel_values" in expected:
            assert torch.equal(expected["pixel_values"], example.pixel_values)
            assert torch.equal(expected["image_grid_thw"], example.image_grid_thw)
        if "input_features" in expected:
            assert torch.equal(expected["input_features"], example.input_features)
            assert torch.equal(expected["feature_attention_mask"], example.feature_attention_mask)
        answer = parts.processor.tokenizer.decode(example.answer_ids, skip_special_tokens=True)
        assert answer == record.answer
    assert len({p for p, _ in seen}) >= 5


def test_collate_labels_only_the_answers(parts, digits):
    encoder = Encoder(parts.processor)
    examples = [encoder.example(r) for r in build_chat_records(digits, 6, seed=5)]
    batch = collate(examples, encoder.pad_id)
    for row, example in enumerate(examples):
        labelled = batch["labels"][row][batch["labels"][row] != -100].tolist()
        assert labelled == example.answer_ids
        length = len(example.prompt_ids) + len(example.answer_ids)
        assert batch["attention_mask"][row].sum() == length
    images = sum(e.pixel_values is not None for e in examples)
    assert batch.get("image_grid_thw", torch.zeros(0, 3)).shape[0] == images
