"""Chat records from digits records: the right answer for what the prompt holds, repeatable,
and written as a manifest the ordinary reader opens."""

from __future__ import annotations

import json

import pytest

from mmstudio.inputs.text import normalize_text
from mmstudio.training.chat import questions as q
from mmstudio.training.chat.data import (
    ChatMix,
    build_chat_records,
    read_chat_manifest,
    to_sample,
    write_chat_manifest,
)
from mmstudio.training.manifest import read_manifest
from tests.chat.helpers import write_fake_digits


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return write_fake_digits(tmp_path_factory.mktemp("digits"))


def _split(records, split):
    return [r for r in records if r.split == split]


def test_records_answer_what_their_prompt_holds(digits):
    train = _split(digits, "train")
    by_id = {r.id: r for r in train}
    records = build_chat_records(train, 400, seed=1)
    assert {r.kind for r in records} == set(q.KINDS)
    for record in records:
        # Each source comes from a digits record of that digit, and the prompt holds its file.
        for source, record_id in record.sources.items():
            digit_record = by_id[record_id]
            assert int(digit_record.label) == record.digits[source]
            if source in q.MEDIA:
                assert getattr(record, source) == getattr(digit_record, source)
            else:
                # The typed phrase sits in the question, cleaned as the window cleans text.
                assert normalize_text(digit_record.text)[0] in record.text
        assert set(record.present) - {"text"} == set(record.sources) - {"text"}
        expected = q.answer(record.kind, record.asked, record.digits, record.present)
        assert record.answer == expected
        assert record.template_set == "train"
        if record.kind == "describe":
            assert record.text is None and record.present
        else:
            assert record.template in q.TEMPLATES[record.kind]["train"]


def test_mix_gives_missing_media_distractors_and_agreements(digits):
    records = build_chat_records(_split(digits, "train"), 600, seed=2)
    missing = [r for r in records if any(m not in r.present for m in r.asked)]
    distracted = [
        r for r in records if r.kind != "describe" and set(r.present) - set(r.asked) - {"text"}
    ]
    agreeing = [r for r in records if r.kind == "agree" and r.answer.startswith("Yes")]
    assert 0.05 < len(missing) / len(records) < 0.25
    assert len(distracted) > len(records) / 4
    assert agreeing
    for record in missing:
        assert "there is no" in record.answer.lower()
        for medium in record.asked:
            if medium not in record.present:
                assert q.LACKS[medium] in record.answer
    none_missing = build_chat_records(_split(digits, "train"), 200, seed=2, mix=ChatMix(missing=0))
    assert not [r for r in none_missing if any(m not in r.present for m in r.asked)]


def test_records_are_repeatable_and_splits_stay_apart(digits):
    train = _split(digits, "train")
    assert build_chat_records(train, 50, seed=4) == build_chat_records(train, 50, seed=4)
    assert build_chat_records(train, 50, seed=4) != build_chat_records(train, 50, seed=5)
    test = build_chat_records(_split(digits, "test"), 100, seed=4, template_set="heldout")
    assert {r.split for r in test} == {"test"}
    assert all(r.sources[s].startswith("test-") for r in test for s in r.sources)
    for record in test:
        if record.kind != "describe":
            assert record.template in q.TEMPLATES[record.kind]["heldout"]
    with pytest.raises(ValueError, match="one split"):
        build_chat_records(digits, 10)
    with pytest.raises(ValueError, match=r"no image of digit"):
        build_chat_records([r for r in train if r.label != "3"], 10)


def test_manifest_round_trip_keeps_the_expected_answer(digits, tmp_path):
    records = build_chat_records(_split(digits, "train"), 40, seed=6)
    path = write_chat_manifest(tmp_path / "chat", records)
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first["answer"] == records[0].answer
    assert first["label"] == records[0].kind
    manifest = read_manifest(tmp_path / "chat")  # the ordinary reader, labels and files checked
    assert manifest.labels == list(q.KINDS)
    assert [r.answer for r in manifest.records] == [r.answer for r in records]
    assert read_chat_manifest(tmp_path / "chat") == records


def test_a_record_becomes_the_studios_sample(digits):
    records = build_chat_records(_split(digits, "train"), 30, seed=7)
    for record in records:
        sample = to_sample(record)
        assert set(sample.present) == set(record.present)
        assert sample.text == record.text
