"""The shipped generative model, digits-chat: a built-in entry next to digits, opened through
the same generative folder loader as a user's folder, and explained as unavailable when its
files are missing."""

from __future__ import annotations

import shutil

import pytest

from mmstudio.cli import main as cli_main
from mmstudio.doctor import models_report
from mmstudio.inputs import InputError, load_image
from mmstudio.inputs.sample import Sample
from mmstudio.models import builtin, registry
from mmstudio.resources import chat_model_dir, samples_dir
from tests.conftest import require_or_skip


def _shipped() -> bool:
    return all((chat_model_dir() / name).is_file() for name in builtin.CHAT_FILES)


def test_digits_chat_is_a_built_in_generator_listed_after_digits():
    names = [entry.name for entry in registry.list_models()]
    assert names[0] == "digits" and "digits-chat" in names
    entry = registry.get_entry("digits-chat")
    assert entry.task == "generation" and entry.source == "built-in"
    assert entry.location == str(chat_model_dir())
    assert entry.available == _shipped()
    assert (entry.problem == "") == entry.available


def test_models_and_doctor_list_digits_chat(capsys):
    assert cli_main(["models"]) == 0
    listed = capsys.readouterr().out.splitlines()
    line = next(line for line in listed if line.startswith("digits-chat "))
    assert "generation" in line
    assert line.endswith("ready") == _shipped()
    assert f"    weights: {chat_model_dir()}" in listed
    (reported,) = [m for m in models_report() if m["name"] == "digits-chat"]
    assert reported["task"] == "generation" and reported["weights"] == str(chat_model_dir())
    assert reported["available"] == _shipped()


@pytest.mark.parametrize("kept", [(), ("config.json",), ("config.json", "tokenizer.json")])
def test_missing_files_make_it_unavailable_and_say_which(tmp_path, monkeypatch, kept):
    folder = tmp_path / "digits-chat"
    folder.mkdir()
    for name in kept:
        (folder / name).write_text("{}", encoding="utf-8")
    monkeypatch.setattr(builtin, "chat_model_dir", lambda: folder)
    entry = builtin.digits_chat_entry()
    assert not entry.available and entry.location == str(folder)
    missing = [name for name in builtin.CHAT_FILES if name not in kept]
    assert entry.problem == (
        f"the shipped weights are missing from this installation (no {', '.join(missing)})"
    )
    registry.list_models()
    monkeypatch.setitem(registry._REGISTRY, "digits-chat", entry)
    with pytest.raises(InputError) as raised:
        registry.get_model("digits-chat")
    assert str(raised.value) == f"the model 'digits-chat' cannot be loaded: {entry.problem}"


def test_the_weights_alone_missing_is_named(tmp_path, monkeypatch):
    require_or_skip(_shipped(), "the shipped digits-chat folder is missing")
    folder = tmp_path / "digits-chat"
    shutil.copytree(chat_model_dir(), folder)
    (folder / "model.safetensors").unlink()
    monkeypatch.setattr(builtin, "chat_model_dir", lambda: folder)
    entry = builtin.digits_chat_entry()
    assert not entry.available and "(no model.safetensors)" in entry.problem


def test_the_shipped_folder_opens_as_a_user_folder_would_and_answers():
    require_or_skip(_shipped(), "the shipped digits-chat folder is missing")
    from mmstudio.analysis import Analyzer
    from mmstudio.models.generative.model import GenerativeModel

    by_name = registry.get_model("digits-chat")
    by_path = registry.open_folder(chat_model_dir())
    assert type(by_name) is type(by_path) is GenerativeModel
    assert set(by_name.modalities) == {"image", "text", "audio"}
    sample = Sample(image=load_image(samples_dir() / "digit_7.png"), text="What digit is written?")
    analysis = Analyzer(by_name, "cpu").generate(sample, explain=False)
    assert analysis.finished == "eos" and analysis.answer.strip()
