"""A generative model in the real window: a tiny random LLaVA folder opened through Model ▸ Open
Model Folder, a question typed, the answer streamed token by token from the analysis service's
worker, every token explained in the answer view, Stop (Esc), and a new input cancelling a
running generation. The real Analyzer, the real service and the real views throughout."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QFileDialog

from mmstudio.gui.common.settings import GenerationSettings
from mmstudio.result import GenerationAnalysis
from tests.generative.tiny_models import sample_image

pytestmark = pytest.mark.gui
TIMEOUT = 120_000
# Long enough that Stop and a new input always land in the middle: the tiny model's greedy
# answer never ends by itself within it (it loops over the same few words).
LONG = 1000


@pytest.fixture
def llava_window(qtbot, window, tiny_model_folders, monkeypatch):
    """The window (started on the tiny classifier) with the tiny LLaVA opened through Model ▸
    Open Model Folder… (the hf-generative folder format), the file dialog answering with the
    folder."""
    folder = tiny_model_folders["llava"]
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(folder))
    with qtbot.waitSignal(window.model_ready, timeout=TIMEOUT) as ready:
        window.models.open_folder_action.trigger()
    assert ready.args[0].generates and ready.args[0].source == str(folder)
    return window


def set_max_tokens(window, count: int) -> None:
    window.generation.choose(GenerationSettings(max_new_tokens=count))


class Recorder:
    """Every token delivery and result of the service, in the order the GUI thread saw them."""

    def __init__(self, window) -> None:
        self.events: list[tuple] = []
        window.service.token_streamed.connect(
            lambda rid, index, streamed: self.events.append(("tokens", rid, index, streamed))
        )
        window.service.result.connect(
            lambda rid, analysis: self.events.append(("result", rid, analysis))
        )

    def of(self, request_id: int) -> list[tuple]:
        return [e for e in self.events if e[1] == request_id]

    def tokens_seen(self, request_id: int) -> int:
        return max((e[2] + 1 for e in self.of(request_id) if e[0] == "tokens"), default=0)

    def result(self, request_id: int):
        return next((e[2] for e in self.of(request_id) if e[0] == "result"), None)


def ask(qtbot, window, text: str, image=None) -> int:
    """Type ``text`` (and drop ``image``) and wait for the request to be sent; its id."""
    before = window.service.latest_analysis_id
    if image is not None:
        window.inputs.image_input.set_image(image, "picture.png")
    window.inputs.text_input.set_text(text)
    qtbot.waitUntil(lambda: window.service.latest_analysis_id > before, timeout=TIMEOUT)
    return window.service.latest_analysis_id


def test_a_question_streams_its_answer_token_by_token_then_every_token_is_explained(
    qtbot, llava_window
):
    window = llava_window
    set_max_tokens(window, 12)
    recorder = Recorder(window)
    request = ask(qtbot, window, "what is this ?", sample_image())
    qtbot.waitUntil(lambda: recorder.result(request) is not None, timeout=TIMEOUT)
    events = recorder.of(request)
    analysis = recorder.result(request)
    assert isinstance(analysis, GenerationAnalysis) and analysis.token_count == 12
    # Tokens came before the result, in index order, each delivery the answer so far.
    assert events[-1][0] == "result"
    deliveries = [e for e in events if e[0] == "tokens"]
    assert deliveries, "no token reached the window before the result"
    indices = [e[2] for e in deliveries]
    assert indices == sorted(set(indices))
    assert deliveries[-1][2] == analysis.token_count - 1
    for _, _, index, streamed in deliveries:
        assert list(streamed.pieces) == analysis.answer_tokens[: index + 1]
    # The answer view shows the answer, with each token's modality shares under it.
    qtbot.waitUntil(lambda: window.results.analysis is analysis, timeout=TIMEOUT)
    view = window.results.answer
    assert window.results.stack.currentWidget() is view
    assert view.tokens.pieces == analysis.answer_tokens
    np.testing.assert_allclose(view.tokens.shares, analysis.modality_shares())
    assert "complete" in view.status.text() or "maximum" in view.status.text()
    assert "chat template" in view.notes.text()  # how an absent modality is taken out
    # No token selected: the whole answer's Shapley values.
    whole = analysis.shapley_of(None)
    rows = view.contributions.shapley_rows()
    assert rows == {m: f"{whole[m]:+.2f}" for m in ("image", "text")}
    assert "The whole answer" in view.selection.text()
    # Clicking a token explains that token: its Shapley bars and its maps.
    shown: list = []
    view.selection_shown.connect(shown.append)
    token = 3
    centre = view.tokens.token_rect(token).center()
    qtbot.mouseClick(view.tokens, Qt.MouseButton.LeftButton, pos=centre.toPoint())
    assert shown[-1] == token and view.selected == token
    values = analysis.shapley_of(token)
    assert view.contributions.shapley_rows() == {m: f"{values[m]:+.2f}" for m in values}
    assert f"Token {token + 1} of {analysis.token_count}" in view.selection.text()
    _assert_maps_of(view, analysis, token, window.inputs.image_input.image)
    # ... and its interactions: the pair's Shapley interaction index, each one's value.
    pair = analysis.interactions_of(token)["shapley_interaction"]["image+text"]
    assert view.contributions.interactions.matrix()["image", "text"] == f"{pair:+.2f}"
    assert view.contributions.interactions.matrix()["text", "text"] == f"{values['text']:+.2f}"
    # Right moves the selection; clicking the selected token again goes back to the answer.
    qtbot.keyClick(view.tokens, Qt.Key.Key_Right)
    assert view.selected == token + 1 and shown[-1] == token + 1
    values = analysis.shapley_of(token + 1)
    assert view.contributions.shapley_rows() == {m: f"{values[m]:+.2f}" for m in values}
    centre = view.tokens.token_rect(token + 1).center()
    qtbot.mouseClick(view.tokens, Qt.MouseButton.LeftButton, pos=centre.toPoint())
    assert view.selected is None and shown[-1] is None
    assert view.contributions.shapley_rows() == {m: f"{whole[m]:+.2f}" for m in whole}
    # Esc, with nothing generating, also goes back to the whole answer.
    qtbot.keyClick(view.tokens, Qt.Key.Key_Left)
    assert view.selected == analysis.token_count - 1
    qtbot.keyClick(view.tokens, Qt.Key.Key_Escape)
    assert view.selected is None


def _assert_maps_of(view, analysis: GenerationAnalysis, token: int, image) -> None:
    """The token's own maps: its image grid laid over the part of the picture it covers, and
    its weights on the question's words."""
    assert analysis.token_image_maps is not None and analysis.token_word_maps is not None
    image_map = view.image_map
    assert image_map._stack.currentWidget() is image_map.graphics
    assert image_map.overlay.isVisible()
    np.testing.assert_allclose(image_map.overlay.image, analysis.token_image_maps[token])
    x0, y0, x1, y1 = analysis.image_map_box
    placed = image_map.overlay.mapRectToParent(image_map.overlay.boundingRect())
    expected = (x0 * image.width, y0 * image.height, x1 * image.width, y1 * image.height)
    np.testing.assert_allclose(
        (placed.left(), placed.top(), placed.right(), placed.bottom()), expected, atol=1e-3
    )
    # The text view shades words (punctuation stays unshaded): each word its own weight.
    weights = analysis.token_word_maps[token]
    shaded = [
        w
        for word, w in zip(analysis.prompt_words, weights, strict=True)
        if any(c.isalnum() for c in word)
    ]
    assert view.text_map.words == [w for w in analysis.prompt_words if any(c.isalnum() for c in w)]
    np.testing.assert_allclose(view.text_map.word_weights, shaded, atol=1e-6)


def test_stop_ends_a_long_generation_at_its_next_token_and_shows_it_stopped(qtbot, llava_window):
    window = llava_window
    set_max_tokens(window, LONG)
    recorder = Recorder(window)
    request = ask(qtbot, window, "what is this ?", sample_image())
    qtbot.waitUntil(lambda: recorder.tokens_seen(request) >= 3, timeout=TIMEOUT)
    stop = window.generation.stop_action
    assert stop.isEnabled()
    # Esc, as the user presses it, with the focus in the question.
    with qtbot.waitActive(window):
        window.activateWindow()
    window.inputs.text_input.editor.setFocus()
    qtbot.keyClick(window.inputs.text_input.editor, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: recorder.result(request) is not None, timeout=TIMEOUT)
    analysis = recorder.result(request)
    assert analysis.finished == "stopped"
    assert 3 <= analysis.token_count < LONG
    assert recorder.tokens_seen(request) == analysis.token_count
    assert any("stopped" in note for note in analysis.notes)
    qtbot.waitUntil(lambda: window.results.analysis is analysis, timeout=TIMEOUT)
    view = window.results.answer
    assert "stopped" in view.status.text()
    assert "Not explained" in view.contributions.shapley.caption.text()
    assert not stop.isEnabled()  # nothing generating: Esc is the answer view's again
    # Stop was for that answer only: the next question is answered to its end.
    set_max_tokens(window, 5)
    again = ask(qtbot, window, "is it a dog ?")
    qtbot.waitUntil(lambda: recorder.result(again) is not None, timeout=TIMEOUT)
    assert recorder.result(again).finished == "length"


def test_a_new_input_cancels_a_running_generation_and_only_its_own_answer_shows(
    qtbot, llava_window
):
    window = llava_window
    set_max_tokens(window, LONG)
    recorder = Recorder(window)
    first = ask(qtbot, window, "what is this ?", sample_image())
    qtbot.waitUntil(lambda: recorder.tokens_seen(first) >= 2, timeout=TIMEOUT)
    stopped_before = window.service.generations_stopped
    # Short for the next request, without asking again with them (which would be an input
    # of its own): the typed question below is what must cancel the first.
    window.generation.settings = GenerationSettings(max_new_tokens=4)
    second = ask(qtbot, window, "is it a dog ?")
    qtbot.waitUntil(lambda: recorder.result(second) is not None, timeout=TIMEOUT)
    # The first generation stopped in the middle and reported nothing: its half answer was
    # for a question no longer asked.
    assert window.service.generations_stopped == stopped_before + 1
    assert recorder.result(first) is None
    answer = recorder.result(second)
    assert answer.finished == "length" and answer.token_count == 4
    assert answer.prompt == "is it a dog ?"
    qtbot.waitUntil(lambda: window.results.analysis is answer, timeout=TIMEOUT)
    assert window.results.answer.tokens.pieces == answer.answer_tokens
    # The second request's tokens all came after the first's last ones.
    order = [e[1] for e in recorder.events if e[0] == "tokens"]
    assert order == sorted(order)


def test_export_writes_the_answer_view_and_the_generation_json(qtbot, llava_window, tmp_path):
    window = llava_window
    set_max_tokens(window, 6)
    recorder = Recorder(window)
    request = ask(qtbot, window, "what is this ?", sample_image())
    qtbot.waitUntil(lambda: recorder.result(request) is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.results.analysis is recorder.result(request), timeout=TIMEOUT)
    assert window.file_actions.export.isEnabled()
    png, data = window.export(tmp_path / "out" / "answer")
    assert png.stat().st_size > 0
    written = json.loads(data.read_text(encoding="utf-8"))
    assert written["task"] == "generation"
    assert written["answer_tokens"] == recorder.result(request).answer_tokens


def test_comparisons_and_swaps_are_off_for_a_generative_model_and_say_why(
    qtbot, llava_window, tiny_model_dir, monkeypatch
):
    window = llava_window
    actions = (window.compare.menu.menuAction(), window.swaps.swap_menu.menuAction())
    for action in actions:
        assert not action.isEnabled()
        assert "comparisons are for classifiers" in action.statusTip()
    # Live mode is not refused: a generative model answers the typed question live.
    assert window.live_action.isEnabled()
    assert "classifiers" not in window.live_action.statusTip()
    # A classifier again: all back, with their own tips.
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(tiny_model_dir))
    with qtbot.waitSignal(window.model_ready, timeout=TIMEOUT) as ready:
        window.models.open_folder_action.trigger()
    assert not ready.args[0].generates
    for action in (*actions, window.live_action):
        assert action.isEnabled() and "classifiers" not in action.statusTip()
    assert "camera" in window.live_action.toolTip()


def test_generation_options_are_remembered_and_bad_ones_refused(qtbot, llava_window):
    window = llava_window
    window.generation.choose(
        GenerationSettings(max_new_tokens=9, do_sample=True, temperature=0.7, top_p=0.9, seed=3)
    )
    again = GenerationSettings.read(window.settings)
    assert again == GenerationSettings(
        max_new_tokens=9, do_sample=True, temperature=0.7, top_p=0.9, seed=3
    )
    assert window.generation.options().do_sample
    from mmstudio.inputs.errors import InputError

    with pytest.raises(InputError, match="top-p"):
        window.generation.choose(GenerationSettings(top_p=1.5))
    assert GenerationSettings.read(window.settings).top_p == 0.9  # nothing changed


def test_hovering_a_token_shows_it_until_the_mouse_leaves(qtbot, llava_window):
    window = llava_window
    set_max_tokens(window, 5)
    recorder = Recorder(window)
    request = ask(qtbot, window, "what is this ?", sample_image())
    qtbot.waitUntil(lambda: recorder.result(request) is not None, timeout=TIMEOUT)
    analysis = recorder.result(request)
    qtbot.waitUntil(lambda: window.results.analysis is analysis, timeout=TIMEOUT)
    view = window.results.answer
    centre: QPointF = view.tokens.token_rect(2).center()
    qtbot.mouseMove(view.tokens, centre.toPoint())
    qtbot.waitUntil(lambda: view.shown == 2, timeout=5000)
    assert view.selected is None  # hovering previews, it does not select
    values = analysis.shapley_of(2)
    assert view.contributions.shapley_rows() == {m: f"{values[m]:+.2f}" for m in values}
    # Off every token (the tokens fill one line; the corner under them is empty).
    corner = view.tokens.rect().bottomRight() - QPoint(2, 2)
    qtbot.mouseMove(view.tokens, corner)
    qtbot.waitUntil(lambda: view.shown is None, timeout=5000)
    whole = analysis.shapley_of(None)
    assert view.contributions.shapley_rows() == {m: f"{whole[m]:+.2f}" for m in whole}


def test_an_image_audio_and_text_question_maps_each_token_over_the_spectrogram(
    qtbot, window, tiny_model_folders, monkeypatch
):
    """The Qwen2.5-Omni thinker takes all three in one prompt: the strip splits each token's
    mass three ways, and a token's audio map lies over the spectrogram the view shows."""
    from mmstudio.inputs import AudioClip
    from tests.generative.tiny_models import SAMPLING_RATE, sample_clip

    folder = tiny_model_folders["qwen25_omni_thinker"]
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(folder))
    with qtbot.waitSignal(window.model_ready, timeout=TIMEOUT):
        window.models.open_folder_action.trigger()
    set_max_tokens(window, 4)
    recorder = Recorder(window)
    window.inputs.audio_input.set_clip(AudioClip(sample_clip(), SAMPLING_RATE), "tone.wav")
    request = ask(qtbot, window, "what do you hear ?", sample_image())
    qtbot.waitUntil(lambda: recorder.result(request) is not None, timeout=TIMEOUT)
    analysis = recorder.result(request)
    assert set(analysis.present) == {"image", "text", "audio"}
    qtbot.waitUntil(lambda: window.results.analysis is analysis, timeout=TIMEOUT)
    view = window.results.answer
    assert view.tokens.shares.shape == (analysis.token_count, len(analysis.modalities))
    assert set(view.contributions.shapley_rows()) == {"image", "text", "audio"}
    assert analysis.token_audio_maps is not None and analysis.spectrogram is not None
    view.select(1)
    audio = view.audio_map
    assert audio.has_map() and audio.overlay.isVisible()
    bands, frames = analysis.spectrogram.shape
    row = np.asarray(analysis.token_audio_maps[1], dtype=np.float32)
    # One weight per frame of the spectrogram, the same over every mel band.
    assert row.shape == (frames,)
    np.testing.assert_allclose(audio.overlay.image, np.repeat(row[None], bands, axis=0))


def test_the_options_dialog_reads_back_what_is_set_and_sampling_enables_its_fields(qtbot, window):
    from mmstudio.gui.shell.generation_menu import GenerationDialog

    dialog = GenerationDialog(GenerationSettings(), window)
    qtbot.addWidget(dialog)
    assert not dialog.temperature.isEnabled()  # greedy: temperature, top-p and seed unused
    dialog.sampling.setChecked(True)
    assert dialog.temperature.isEnabled() and dialog.seed.isEnabled()
    dialog.max_new_tokens.setValue(32)
    dialog.temperature.setValue(0.5)
    dialog.top_p.setValue(0.8)
    dialog.seed.setValue(11)
    dialog.contrastive.setChecked(True)
    assert dialog.chosen() == GenerationSettings(
        max_new_tokens=32, do_sample=True, temperature=0.5, top_p=0.8, seed=11, contrastive=True
    )


def test_contrastive_answers_show_beside_the_answer(qtbot, llava_window):
    window = llava_window
    window.generation.choose(GenerationSettings(max_new_tokens=4, contrastive=True))
    recorder = Recorder(window)
    request = ask(qtbot, window, "what is this ?", sample_image())
    qtbot.waitUntil(lambda: recorder.result(request) is not None, timeout=TIMEOUT)
    analysis = recorder.result(request)
    assert set(analysis.contrastive_answers) == {"image", "text"}
    qtbot.waitUntil(lambda: window.results.analysis is analysis, timeout=TIMEOUT)
    label = window.results.answer.contrastive
    assert label.isVisible()
    for modality, answer in analysis.contrastive_answers.items():
        assert f"Without the {modality}</b>: “{answer}”" in label.text()


def test_the_maps_look_is_chosen_in_the_answer_view_too_and_kept_for_every_map(qtbot, llava_window):
    window = llava_window
    set_max_tokens(window, 3)
    recorder = Recorder(window)
    request = ask(qtbot, window, "what is this ?", sample_image())
    qtbot.waitUntil(lambda: recorder.result(request) is not None, timeout=TIMEOUT)
    view = window.results.answer
    view.colormap_box.setCurrentText("viridis")
    view.opacity_slider.setValue(30)
    assert window.results.colormap == "viridis" and window.results.opacity == 0.3
    assert window.results.colormap_box.currentText() == "viridis"  # the classifier's maps too
    assert view.image_map.overlay.opacity() == pytest.approx(0.3)
    window.save_settings()
    assert window.settings.value("colormap") == "viridis"


def test_closing_the_window_during_a_generation_stops_it_at_its_next_token(qtbot, llava_window):
    window = llava_window
    set_max_tokens(window, LONG)
    recorder = Recorder(window)
    request = ask(qtbot, window, "what is this ?", sample_image())
    qtbot.waitUntil(lambda: recorder.tokens_seen(request) >= 2, timeout=TIMEOUT)
    stopped_before = window.service.generations_stopped
    window.close()  # waits for the worker's step: the generation must end for it to return
    assert not window.service.is_running()
    assert window.service.generations_stopped == stopped_before + 1


def test_live_mode_answers_with_the_window_s_generative_model_and_its_options(qtbot, llava_window):
    window = llava_window
    set_max_tokens(window, 4)
    panel = window.live
    panel.session.camera_choice = panel.session.microphone_choice = None
    window.inputs.text_input.set_text("what is this ?")
    shown: list = []
    panel.session.result_shown.connect(lambda result, latency: shown.append(result))
    window.live_action.trigger()
    try:
        qtbot.waitUntil(lambda: any(r.analysis is not None for r in shown), timeout=TIMEOUT)
    finally:
        window.live_action.trigger()
    answer = next(r.analysis for r in shown if r.analysis is not None)
    assert isinstance(answer, GenerationAnalysis)
    assert answer.prompt == "what is this ?" and answer.present == ["text"]
    assert answer.token_count == 4 and answer.generation["max_new_tokens"] == 4
    assert answer.token_shapley is not None
    assert answer.model_name == window.presenter.model_info.name  # the window's own model
