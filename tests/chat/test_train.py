"""Training digits-chat: the answer loss falls, the run ends in a folder the studio opens, and
an interrupted run resumes from its checkpoint to the same weights as an uninterrupted one."""

from __future__ import annotations

import json

import pytest
import torch

from mmstudio.models.generative.model import GenerativeModel
from mmstudio.models.registry import get_model
from mmstudio.training.chat.architecture import build_digits_chat
from mmstudio.training.chat.batches import Encoder, collate
from mmstudio.training.chat.data import build_chat_records
from mmstudio.training.chat.train import (
    CHECKPOINT,
    MODEL,
    STATE_JSON,
    ChatTrainSettings,
    answer_loss,
    learning_rate,
    make_optimizer,
    train_chat,
)
from tests.chat.helpers import TEST_SIZE, write_fake_digits

SETTINGS = ChatTrainSettings(steps=4, batch_size=4, lr=3e-3, checkpoint_every=2, log_every=1)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    digits = write_fake_digits(tmp_path_factory.mktemp("digits"), splits=("train",))
    return build_chat_records(digits, 24, seed=0)


def test_a_step_lowers_the_answer_loss_on_its_batch(records):
    torch.set_num_threads(1)
    parts = build_digits_chat(TEST_SIZE)
    encoder = Encoder(parts.processor)
    batch = collate([encoder.example(r) for r in records[:4]], encoder.pad_id)
    model = parts.model.train()
    optimizer = make_optimizer(model, ChatTrainSettings(lr=3e-3))
    before = answer_loss(model, batch)
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        after = answer_loss(model, batch)
    assert float(after) < float(before.detach())
    # The loss is over the answer: an untrained model is near log(vocabulary size).
    assert (
        abs(float(before.detach()) - torch.log(torch.tensor(len(parts.processor.tokenizer)))) < 1.5
    )


def test_learning_rate_warms_up_then_decays():
    settings = ChatTrainSettings(steps=100, lr=1e-3, warmup_fraction=0.1, final_lr_fraction=0.1)
    rates = [learning_rate(s, settings) for s in range(100)]
    assert rates[0] < rates[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:], strict=False))
    assert rates[-1] == pytest.approx(1e-4, rel=0.05)


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_training_writes_a_folder_the_studio_opens(records, tmp_path, monkeypatch):
    monkeypatch.setenv("MMSTUDIO_CPU_DTYPE", "float32")
    events = list(
        train_chat(tmp_path / "run", records, SETTINGS, parts=build_digits_chat(TEST_SIZE))
    )
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    assert [e.step for e in events if e.kind == "step"] == [1, 2, 3, 4]
    assert [e.step for e in events if e.kind == "checkpoint"] == [2, 4]
    assert all(e.loss is not None and e.loss > 0 for e in events if e.kind == "step")
    state = json.loads((tmp_path / "run" / CHECKPOINT / STATE_JSON).read_text())
    assert state["step"] == 4
    model = get_model(tmp_path / "run" / MODEL)
    assert isinstance(model, GenerativeModel)
    assert not list(tmp_path.glob("run/*.partial")) and not list(tmp_path.glob("run/*.old"))


def test_an_interrupted_run_resumes_to_the_same_weights(records, tmp_path):
    whole = list(
        train_chat(tmp_path / "whole", records, SETTINGS, parts=build_digits_chat(TEST_SIZE))
    )
    assert whole[-1].kind == "done"

    run = train_chat(tmp_path / "cut", records, SETTINGS, parts=build_digits_chat(TEST_SIZE))
    for event in run:
        if event.kind == "checkpoint":
            break  # interrupted right after the step-2 checkpoint
    run.close()
    assert not (tmp_path / "cut" / MODEL).exists()
    resumed = list(train_chat(tmp_path / "cut", records, SETTINGS))
    assert resumed[0].kind == "start" and "resuming at step 2" in resumed[0].message
    assert [e.step for e in resumed if e.kind == "step"] == [3, 4]
    expected, got = _weights(tmp_path / "whole" / MODEL), _weights(tmp_path / "cut" / MODEL)
    assert expected.keys() == got.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6)
    # A fresh start (resume=False) begins at step 0 again.
    fresh = train_chat(
        tmp_path / "cut", records, SETTINGS, parts=build_digits_chat(TEST_SIZE), resume=False
    )
    assert "starting" in next(fresh).message
    fresh.close()
