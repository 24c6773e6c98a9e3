"""A registered model that cannot be loaded: the window says the real problem, by kind."""

from __future__ import annotations

import pytest

from mmstudio.models.registry import ModelEntry
from tests.gui.helpers import digit_image

pytestmark = pytest.mark.gui


def never(device):
    raise AssertionError("an unavailable model must not be loaded")


CASES = {
    "built-in weights missing": (
        ModelEntry(
            "digits",
            never,
            location="/opt/mmstudio/resources/models/digits",
            available=False,
            problem="the shipped weights are missing from this installation",
        ),
        ["no trained weights", "/opt/mmstudio/resources/models/digits/model.safetensors"],
        "weights missing",
    ),
    "built-in generator's weights missing": (
        ModelEntry(
            "digits-chat",
            never,
            location="/opt/mmstudio/resources/models/digits-chat",
            available=False,
            problem="the shipped weights are missing from this installation (no model.safetensors)",
            task="generation",
        ),
        [
            "no trained weights",
            "train it from a source checkout (its model card gives the command)",
        ],
        "weights missing",
    ),
    "zero-shot cache empty": (
        ModelEntry(
            "clip-clap",
            never,
            location="/home/me/.cache/huggingface/hub",
            source="built-in (Hugging Face weights)",
            available=False,
            problem="openai/clip-vit-base-patch32 is not in the Hugging Face cache",
            kind="zero-shot",
        ),
        ["no pretrained weights in the Hugging Face cache", "/home/me/.cache/huggingface/hub"],
        "weights not in cache",
    ),
    "plugin failed to import": (
        ModelEntry(
            "example-colors",
            never,
            source="plugin mmstudio_example_plugin:load",
            available=False,
            problem="the plugin failed to import: No module named 'scipy'",
            kind="plugin",
        ),
        ["plugin model “example-colors” could not be loaded", "mmstudio_example_plugin:load"],
        "failed to import",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_unavailable_model_message_names_the_real_problem(qtbot, monkeypatch, case):
    entry, phrases, label = CASES[case]
    monkeypatch.setattr("mmstudio.models.registry.list_models", lambda: [entry])
    monkeypatch.setattr(
        "mmstudio.models.registry.find_entry", lambda name: entry if name == entry.name else None
    )
    monkeypatch.setattr(
        "mmstudio.gui.inputs.microphone.probe", lambda refresh=False: "No microphone (test)"
    )
    from mmstudio.gui.shell.main_window import MainWindow

    window = MainWindow(model=entry.name, device="cpu")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.service.model_unavailable, timeout=120_000):
        window.show()
    text = window.notice_banner.text()
    assert entry.problem.replace("'", "&#x27;") in text
    for phrase in phrases:
        assert phrase in text
    others = {p for c in CASES.values() if c[0].kind != entry.kind for p in c[1]}
    if entry.kind == "checkpoint":  # the classifier's recipe is not the generator's
        recipe = "packaging/train_default_model.sh"
        assert (recipe in text) == (entry.task != "generation")
    assert not any(phrase in text for phrase in others)
    assert window.status.model_label.text() == f"Model: {entry.name} ({label})"
    qtbot.waitUntil(lambda: bool(window.models.model_group.actions()))
    assert [a.text() for a in window.models.model_group.actions()] == [f"{entry.name}  ({label})"]
    window.inputs.image_input.set_image(digit_image())
    assert not window.results.has_result() and window.service.analyzer is None
