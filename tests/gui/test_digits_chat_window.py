"""digits-chat in the real window: listed in the Model menu and chosen there, and the
generative examples of the Examples menu switching the window to it, loading their inputs and
showing the explained answer with the example's note. The shipped folder, the real service."""

from __future__ import annotations

import pytest

from mmstudio.models.registry import get_entry
from tests.gui.conftest import require_or_skip

pytestmark = pytest.mark.gui
TIMEOUT = 120_000
EXAMPLE = "add what you see and hear"


@pytest.fixture
def shipped_chat():
    require_or_skip(get_entry("digits-chat").available, "the shipped digits-chat is missing")


def _requests(window, monkeypatch) -> list[tuple[int, str]]:
    """Each analysis request as (request id, the model in use when it was sent)."""
    sent: list[tuple[int, str]] = []
    original = window.service.request_analysis

    def recording(*args, **kwargs):
        request_id = original(*args, **kwargs)
        info = window.presenter.model_info
        sent.append((request_id, info.source if info else ""))
        return request_id

    monkeypatch.setattr(window.service, "request_analysis", recording)
    return sent


class Shown:
    """The request ids whose results the window has drawn, in order."""

    def __init__(self, window) -> None:
        self.window = window
        self.ids: list[int] = []
        window.analysis_shown.connect(self.ids.append)

    def wait_for_latest(self, qtbot) -> None:
        """Until the newest request's answer is on screen, explained."""
        window = self.window
        qtbot.waitUntil(
            lambda: bool(self.ids) and self.ids[-1] == window.service.latest_analysis_id,
            timeout=TIMEOUT,
        )
        assert window.results.stack.currentWidget() is window.results.answer
        assert not window.results.answer.streaming


def _listed(qtbot, window) -> dict:
    if not window.models.model_group.actions():
        with qtbot.waitSignal(window.service.models_listed, timeout=TIMEOUT):
            pass
    return {a.data(): a for a in window.models.model_group.actions()}


def test_the_model_menu_lists_digits_chat_and_choosing_it_answers(qtbot, window, shipped_chat):
    actions = _listed(qtbot, window)
    shown = Shown(window)
    assert list(actions)[0] == "digits" and "digits-chat" in actions
    chat = actions["digits-chat"]
    assert chat.text() == "digits-chat" and chat.isEnabled() and chat.isCheckable()
    assert chat.toolTip() == get_entry("digits-chat").description
    with qtbot.waitSignal(window.model_ready, timeout=TIMEOUT) as ready:
        chat.trigger()
    info = ready.args[0]
    assert info.generates and info.source == "digits-chat"
    assert chat.isChecked() and window.studio.model_spec == "digits-chat"
    from mmstudio.resources import samples_dir

    window.inputs.image_input.load_path(samples_dir() / "digit_7.png")
    window.inputs.text_input.set_text("What digit is written?")
    shown.wait_for_latest(qtbot)
    analysis = window.results.analysis
    assert analysis.model_name == "digits-chat" and analysis.answer.strip()
    assert analysis.present == ["image", "text"] and analysis.answer_shapley is not None
    assert window.results.answer.tokens.isVisible()


def test_a_generative_example_switches_to_its_model_and_loads_its_inputs(
    qtbot, window, shipped_chat, monkeypatch
):
    classifier = window.presenter.model_info.source
    _listed(qtbot, window)
    shown = Shown(window)
    example = next(e for e in window.examples if e.name == EXAMPLE)
    assert example.model == "digits-chat"
    action = next(a for a in window.examples_menu.actions() if a.text() == EXAMPLE)
    assert action.toolTip() == action.statusTip() == f"On digits-chat: {example.note}"
    sent = _requests(window, monkeypatch)
    with qtbot.waitSignal(window.model_ready, timeout=TIMEOUT) as ready:
        action.trigger()
        # The inputs are the example's at once; its analysis waits for digits-chat.
        assert window.studio.text == example.text
        assert window.studio.image is not None and window.studio.audio is not None
        assert sent == []
    assert ready.args[0].source == "digits-chat" and classifier != "digits-chat"
    shown.wait_for_latest(qtbot)
    # One analysis, sent once digits-chat was in use: the classifier never saw the example.
    assert sent == [(window.service.latest_analysis_id, "digits-chat")]
    analysis = window.results.analysis
    assert analysis.model_name == "digits-chat"
    assert analysis.present == ["image", "text", "audio"] and analysis.prompt == example.text
    assert f"Example “{EXAMPLE}”: {example.note}" in window.results.answer.notes.text()
    checked = [a.data() for a in window.models.model_group.actions() if a.isChecked()]
    assert checked == ["digits-chat"]

    # An example of the same model loads its inputs without reloading it.
    missing = next(e for e in window.examples if e.name == "the audio is missing")
    loads = []
    window.model_ready.connect(loads.append)
    window.load_example(missing)
    shown.wait_for_latest(qtbot)
    assert loads == [] and window.studio.audio is None
    assert window.results.analysis.present == ["image", "text"]


def test_an_example_whose_model_is_missing_says_why_and_the_model_in_use_answers(
    qtbot, window, monkeypatch, tmp_path
):
    """digits-chat's files gone (a broken installation): the example's inputs still load, the
    banner explains what is missing, and the analysis held for the switch is sent to the model
    that stays in use instead of waiting forever."""
    from mmstudio.models import builtin, registry

    monkeypatch.setattr(builtin, "chat_model_dir", lambda: tmp_path / "digits-chat")
    missing = builtin.digits_chat_entry()
    registry.list_models()
    monkeypatch.setitem(registry._REGISTRY, "digits-chat", missing)
    classifier = window.presenter.model_info.source
    shown = Shown(window)
    sent = _requests(window, monkeypatch)
    example = next(e for e in window.examples if e.name == EXAMPLE)
    with qtbot.waitSignal(window.service.model_unavailable, timeout=TIMEOUT):
        window.load_example(example)
    qtbot.waitUntil(
        lambda: bool(shown.ids) and shown.ids[-1] == window.service.latest_analysis_id,
        timeout=TIMEOUT,
    )
    assert sent == [(window.service.latest_analysis_id, classifier)]
    banner = window.notice_banner.text()
    assert (
        "digits-chat" in banner and "(no config.json, model.safetensors, tokenizer.json)" in banner
    )
    assert window.presenter.model_info.source == classifier
    assert window.results.analysis.present == ["image", "text", "audio"]
