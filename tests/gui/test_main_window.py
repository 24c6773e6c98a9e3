"""The main window end to end, offscreen: inputs reach the model and the views follow."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QGuiApplication, QImage

from mmstudio.inputs import make_sample
from tests.gui.helpers import digit_image, drop, file_mime

pytestmark = pytest.mark.gui
TIMEOUT = 30_000


def analysed(qtbot, window, action):
    """Run ``action`` and wait until the result of the newest request is on screen (results of
    earlier requests still running may be shown on the way)."""
    shown: list[int] = []
    window.analysis_shown.connect(shown.append)
    try:
        action()
        qtbot.waitUntil(
            lambda: bool(shown) and shown[-1] == window.service.latest_analysis_id, timeout=TIMEOUT
        )
    finally:
        window.analysis_shown.disconnect(shown.append)
    return window.results.analysis


def count_requests(window, monkeypatch) -> list[int]:
    sent: list[int] = []
    original = window.service.request_analysis

    def counting(sample):
        request_id = original(sample)
        sent.append(request_id)
        return request_id

    monkeypatch.setattr(window.service, "request_analysis", counting)
    return sent


def test_a_dropped_file_reaches_the_model_and_the_views_update(qtbot, window, input_files):
    assert window.results.analysis is None
    analysis = analysed(
        qtbot,
        window,
        lambda: drop(window.inputs.image_input.drop_zone, file_mime(input_files.image)),
    )
    assert analysis.present == ["image"]
    assert window.inputs.image_input.source_name == "seven.png"
    assert window.results.prediction.headline.text() == analysis.predicted_label
    assert window.results.image_map.has_map()
    assert window.results.image_map.overlay.image.shape == analysis.image_heatmap.shape
    assert set(window.results.contributions.shapley_rows()) == {
        "image",
        "text (off)",
        "audio (off)",
    }
    assert window.file_actions.export.isEnabled()
    assert (
        "Latency:" in window.status.latency_label.text()
        and "ms" in window.status.latency_label.text()
    )


def test_a_browser_drop_of_raw_image_data_is_used(qtbot, window):
    mime = QMimeData()
    mime.setData("image/png", _png_bytes())
    mime.setText("https://example.org/seven.png")
    analysis = analysed(qtbot, window, lambda: drop(window.inputs.image_input.drop_zone, mime))
    assert analysis.present == ["image"]
    assert window.inputs.image_input.source_name == "dropped image"


def test_a_drop_of_a_web_link_alone_explains_that_nothing_is_downloaded(qtbot, window):
    from PySide6.QtCore import QUrl

    mime = QMimeData()
    mime.setUrls([QUrl("https://example.org/seven.png")])
    drop(window.inputs.image_input.drop_zone, mime)
    assert window.error_banner.isVisible()
    assert "does not download" in window.error_banner.text()
    assert window.inputs.image_input.image is None


def test_an_audio_file_dropped_on_the_window_goes_to_the_audio_input(qtbot, window, input_files):
    analysis = analysed(qtbot, window, lambda: drop(window, file_mime(input_files.audio)))
    assert analysis.present == ["audio"]
    assert window.results.audio_map.has_map()
    assert analysis.spectrogram is not None


def test_typing_runs_the_analysis_once_after_the_pause_not_once_per_key(qtbot, window, monkeypatch):
    sent = count_requests(window, monkeypatch)
    qtbot.keyClicks(window.inputs.text_input.editor, "seven", delay=40)
    # Every key restarted the debounce: nothing has been sent while typing.
    assert sent == []
    assert window.inputs.text_input.is_pending()
    with qtbot.waitSignal(window.analysis_shown, timeout=TIMEOUT):
        pass
    qtbot.wait(700)  # long past another debounce interval: still exactly one request
    assert len(sent) == 1
    assert window.results.analysis.present == ["text"]
    assert "".join(window.results.analysis.tokens) == "seven"


def test_stale_requests_are_dropped_and_the_latest_wins(qtbot, window, input_files):
    service = window.service
    received: list[int] = []
    texts: list[str] = []
    service.result.connect(
        lambda request_id, analysis: (
            received.append(request_id),
            texts.append("".join(analysis.tokens)),
        )
    )
    before = service.analyses_run
    samples = [make_sample(image=digit_image(str(i)), text=f"number {i}") for i in range(12)]
    ids = [service.request_analysis(sample) for sample in samples]
    with qtbot.waitSignal(
        service.result, timeout=TIMEOUT, check_params_cb=lambda rid, _a: rid == ids[-1]
    ):
        pass
    qtbot.wait(300)
    # Only the request already running when the rest arrived, and the last one, ever ran.
    assert received[-1] == ids[-1] and set(received) <= {ids[0], ids[-1]}
    assert service.analyses_run - before == len(received) <= 2
    assert texts[-1] == "number 11"


def test_window_shows_the_latest_inputs_without_going_back_in_time(qtbot, window, input_files):
    shown: list[int] = []
    window.analysis_shown.connect(shown.append)
    window.inputs.image_input.load_path(input_files.image)
    for word in ("one", "two", "three", "four"):
        window.inputs.text_input.set_text(word)
    qtbot.waitUntil(
        lambda: bool(shown) and shown[-1] == window.service.latest_analysis_id, timeout=TIMEOUT
    )
    qtbot.wait(300)
    # The first request may already have been running; the three in between never ran.
    assert len(shown) <= 2 and shown == sorted(shown)
    assert "".join(window.results.analysis.tokens) == "four"


def test_requests_faster_than_the_model_still_show_fresh_results(qtbot, window, monkeypatch):
    """Latest-wins must not starve: with a request every 30 ms and a 150 ms model, results
    keep appearing while the requests go on, each newer than the one before."""
    analyzer = window.service.analyzer
    slow_analyze = analyzer.analyze

    def slow(sample):
        time.sleep(0.15)
        return slow_analyze(sample)

    monkeypatch.setattr(analyzer, "analyze", slow)
    shown: list[int] = []
    window.analysis_shown.connect(shown.append)
    count = [0]

    def type_more():
        count[0] += 1
        window.inputs.text_input.set_text(f"seven {count[0]}")

    from PySide6.QtCore import QTimer

    typing = QTimer()
    typing.timeout.connect(type_more)
    typing.start(30)
    # Counted, not timed: the typing goes on until three results have appeared, however slow
    # the machine is today. A starving latest-wins would show nothing until it stopped.
    try:
        qtbot.waitUntil(lambda: len(shown) >= 3, timeout=30_000)
    finally:
        typing.stop()
    assert shown == sorted(shown)
    assert window.service.analyses_run < count[0] / 2  # most requests were skipped, not queued


def test_switching_a_modality_off_changes_the_contributions(qtbot, window, input_files):
    window.inputs.image_input.load_path(input_files.image)
    window.inputs.text_input.set_text("I think it is a seven")
    both = analysed(qtbot, window, lambda: window.inputs.audio_input.load_path(input_files.audio))
    assert both.present == ["image", "text", "audio"]
    rows = window.results.contributions.shapley_rows()
    assert rows["audio"] != "absent"

    without_audio = analysed(
        qtbot,
        window,
        lambda: qtbot.mouseClick(window.inputs.audio_card.switch, Qt.MouseButton.LeftButton),
    )
    assert not window.inputs.audio_card.use_input
    assert without_audio.present == ["image", "text"]
    assert "audio" not in without_audio.shapley
    assert without_audio.shapley != both.shapley
    assert window.results.contributions.shapley_rows()["audio (off)"] == "absent"
    assert not window.results.audio_map.has_map()
    total = without_audio.shapley_base + sum(without_audio.shapley.values())
    assert total == pytest.approx(without_audio.full_score, abs=1e-4)
    # The clip itself is kept: switching back on restores the three-way analysis.
    again = analysed(qtbot, window, lambda: window.inputs.audio_card.set_use_input(True))
    assert again.present == ["image", "text", "audio"]


def test_all_inputs_switched_off_says_so_instead_of_failing(qtbot, window, input_files):
    analysed(qtbot, window, lambda: window.inputs.image_input.load_path(input_files.image))
    window.inputs.image_card.set_use_input(False)
    assert not window.results.has_result()
    assert "switched off" in window.results.placeholder.text()
    assert not window.error_banner.isVisible()


def test_a_bad_file_shows_an_error_and_leaves_the_previous_result(
    qtbot, window, input_files, monkeypatch
):
    previous = analysed(
        qtbot, window, lambda: window.inputs.image_input.load_path(input_files.image)
    )
    headline = window.results.prediction.headline.text()
    sent = count_requests(window, monkeypatch)
    with qtbot.waitSignal(window.inputs.image_input.error_occurred, timeout=TIMEOUT):
        drop(window.inputs.image_input.drop_zone, file_mime(input_files.corrupt_image))
    assert window.error_banner.isVisible()
    assert "broken.png" in window.error_banner.text()
    assert "broken.png" in window.statusBar().currentMessage()
    qtbot.wait(200)
    assert sent == []
    assert window.results.analysis is previous
    assert window.results.prediction.headline.text() == headline
    assert window.inputs.image_input.source_name == "seven.png"
    # A bad audio file is reported the same way, and the next good input clears the banner.
    with qtbot.waitSignal(window.inputs.audio_input.error_occurred, timeout=TIMEOUT):
        window.inputs.audio_input.load_path(input_files.corrupt_audio)
    assert "broken.wav" in window.error_banner.text()
    analysed(qtbot, window, lambda: window.inputs.text_input.set_text("seven"))
    assert not window.error_banner.isVisible()


def test_an_analysis_error_is_shown_and_the_previous_result_stays(
    qtbot, window, input_files, monkeypatch
):
    previous = analysed(
        qtbot, window, lambda: window.inputs.image_input.load_path(input_files.image)
    )

    def fail(sample):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(window.service.analyzer, "analyze", fail)
    with qtbot.waitSignal(window.service.error, timeout=TIMEOUT):
        window.inputs.text_input.set_text("seven")
    assert window.error_banner.isVisible()
    assert "ran out of memory" in window.error_banner.text()
    assert window.results.analysis is previous
    assert not window.status.progress.isVisible()


def test_closing_during_an_analysis_finishes_that_step_drops_the_queue_and_stops_the_thread(
    qtbot, window, monkeypatch
):
    """Close while an analysis is running and another waits: the running step is let finish
    (torch cannot be interrupted), the waiting one never starts, and close returns only once
    the worker thread has stopped."""
    events = []
    lanes = window.service.lanes
    analyze = window.service.analyzer.analyze

    def held(sample):
        events.append(("started", sample.text))
        for _ in range(2000):  # held until close stops the lanes; bounded so a bug cannot hang
            if lanes.stopping:
                break
            time.sleep(0.005)
        events.append(("finished", sample.text, lanes.stopping))
        return analyze(sample)

    monkeypatch.setattr(window.service.analyzer, "analyze", held)
    window.inputs.text_input.set_text("seven")
    qtbot.waitUntil(lambda: events == [("started", "seven")], timeout=TIMEOUT)
    window.inputs.text_input.set_text("eight")  # waits behind the running analysis
    window.close()
    assert not window.service.is_running()
    assert not window.isVisible()
    assert events == [("started", "seven"), ("finished", "seven", True)]
    qtbot.wait(100)  # a stopped worker starts nothing more, even with the event loop running
    assert len(events) == 2


def test_a_model_folder_that_fails_to_load_is_reported_in_the_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(
        "mmstudio.gui.inputs.microphone.probe", lambda refresh=False: "No microphone (test)"
    )
    from mmstudio.gui.shell.main_window import MainWindow

    window = MainWindow(model=str(tmp_path / "no-such-model"), device="cpu")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.service.error, timeout=120_000):
        window.show()
    assert window.error_banner.isVisible()
    assert "could not be loaded" in window.error_banner.text()
    assert "does not exist" in window.error_banner.text()
    assert "No model is loaded" in window.results.placeholder.text()
    assert window.presenter.model_info is None


def test_missing_builtin_weights_are_explained_and_nothing_is_predicted(qtbot, monkeypatch):
    from mmstudio.models.registry import ModelEntry

    def never(device):
        raise AssertionError("an unavailable model must not be loaded")

    entry = ModelEntry(
        "digits",
        never,
        location="/opt/mmstudio/resources/models/digits",
        available=False,
        problem="the shipped weights are missing from this installation",
    )
    monkeypatch.setattr("mmstudio.models.registry.list_models", lambda: [entry])
    monkeypatch.setattr("mmstudio.models.registry.find_entry", lambda name: entry)
    monkeypatch.setattr(
        "mmstudio.gui.inputs.microphone.probe", lambda refresh=False: "No microphone (test)"
    )
    from mmstudio.gui.shell.main_window import MainWindow

    window = MainWindow(device="cpu")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.service.model_unavailable, timeout=30_000):
        window.show()
    text = window.notice_banner.text()
    assert "no trained weights" in text and "Open Model Folder" in text
    assert "/opt/mmstudio/resources/models/digits/model.safetensors" in text
    assert window.presenter.model_info is None and window.service.analyzer is None
    assert "weights missing" in window.status.model_label.text()
    assert [a.text() for a in window.models.model_group.actions()] == ["digits  (weights missing)"]
    window.inputs.image_input.set_image(digit_image())
    assert not window.results.has_result()


def test_an_example_loads_all_inputs_and_runs_one_analysis(qtbot, window, input_files, monkeypatch):
    from mmstudio.gui.inputs.examples import Example

    example = Example(
        "test example",
        input_files.image,
        input_files.audio,
        "I think it is a seven",
        "7",
        "Everything says seven.",
    )
    sent = count_requests(window, monkeypatch)
    analysis = analysed(qtbot, window, lambda: window.inputs.load_example(example))
    qtbot.wait(200)
    assert len(sent) == 1
    assert analysis.present == ["image", "text", "audio"]
    assert "expected 7" in window.results.prediction.expected.text()
    assert "Everything says seven." in window.results.notes.text()
    # Editing an input afterwards makes it the person's own sample: no more "expected".
    analysed(qtbot, window, lambda: window.inputs.text_input.set_text("three"))
    assert window.results.prediction.expected.text() == ""


def test_the_examples_menu_lists_the_shipped_examples(qtbot, window):
    titles = [action.text() for action in window.examples_menu.actions()]
    if window.examples:
        assert titles == [example.name for example in window.examples]
    else:
        assert len(titles) == 1 and not window.examples_menu.actions()[0].isEnabled()


def test_paste_takes_an_image_from_the_clipboard(qtbot, window):
    image = QImage()
    assert image.loadFromData(_png_bytes())
    QGuiApplication.clipboard().setImage(image)
    analysis = analysed(qtbot, window, window.inputs.paste)
    assert analysis.present == ["image"]


def test_paste_of_plain_text_goes_to_the_text_input(qtbot, window):
    QGuiApplication.clipboard().setText("seven")
    analysis = analysed(qtbot, window, window.inputs.paste)
    assert window.inputs.text_input.text() == "seven"
    assert analysis.present == ["text"]


def test_export_writes_a_picture_of_the_results_and_the_analysis_as_json(
    qtbot, window, input_files, tmp_path
):
    analysis = analysed(
        qtbot, window, lambda: window.inputs.image_input.load_path(input_files.image)
    )
    png, data = window.export(tmp_path / "out" / "result")
    assert png.stat().st_size > 1000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads(data.read_text(encoding="utf-8"))
    assert saved["predicted_label"] == analysis.predicted_label
    assert saved["present"] == ["image"]


def test_export_to_an_unwritable_place_is_an_error_not_a_crash(
    qtbot, window, input_files, tmp_path
):
    analysed(qtbot, window, lambda: window.inputs.image_input.load_path(input_files.image))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert window.export(blocker / "inside" / "result.png") is None
    assert "could not be exported" in window.error_banner.text()


def test_settings_persist_in_the_private_store(qtbot, window, _private_settings, tiny_model_dir):
    window.results.set_colormap("viridis")
    window.results.set_opacity(0.3)
    window.splitter.setSizes([300, 700])
    window.close()
    saved = window.splitter.saveState()
    assert list(_private_settings.rglob("*.ini")), "settings were not written to the test's folder"
    from mmstudio.gui.shell.main_window import MainWindow

    again = MainWindow(model=str(tiny_model_dir), device="cpu")
    qtbot.addWidget(again)
    assert again.results.colormap == "viridis"
    assert again.results.opacity == pytest.approx(0.3)
    assert again.splitter.saveState() == saved
    assert again.settings.value("window/geometry") is not None
    again.close()


def test_colormap_and_opacity_reach_the_heatmaps(qtbot, window, input_files):
    analysed(qtbot, window, lambda: window.inputs.image_input.load_path(input_files.image))
    window.results.opacity_slider.setValue(20)
    assert window.results.image_map.overlay.opacity() == pytest.approx(0.2)
    assert window.results.audio_map.overlay.opacity() == pytest.approx(0.2)
    window.results.colormap_box.setCurrentText("viridis")
    lut = window.results.image_map.overlay.lut
    assert lut is not None
    from mmstudio.gui.results import colormaps

    top = np.asarray(lut)[-1][:3] if not callable(lut) else None
    if top is not None:
        assert tuple(top) == tuple(colormaps.lut("viridis")[-1][:3])


def test_text_words_show_their_weight_and_characters_on_hover(qtbot, window):
    analysis = analysed(qtbot, window, lambda: window.inputs.text_input.set_text("it is seven"))
    view = window.results.text_map
    assert view.words == ["it", "is", "seven"] and len(view.browser.tooltips) == 3
    seven = view.browser.tooltips[2]
    assert "“seven”" in seven and f"{np.mean(analysis.token_weights[6:]):.3f}" in seven
    assert "per character: s " in seven
    assert analysis.text_heatmap_method in view.title.text()


def test_the_status_bar_names_model_device_precision_and_latency(qtbot, window, input_files):
    analysed(qtbot, window, lambda: window.inputs.image_input.load_path(input_files.image))
    assert window.status.model_label.text() == "Model: tiny-random"
    assert (
        "CPU" in window.status.device_label.text()
        and "float32" in window.status.device_label.text()
    )
    assert window.status.latency_label.text().startswith("Latency: ")


def test_about_lists_the_versions(qtbot, window):
    from mmstudio.gui.shell.about import versions

    found = versions(window.presenter.model_info.device)
    assert set(found) >= {"mmstudio", "Python", "Qt", "PySide6", "PyTorch", "Device"}
    assert found["Device"].startswith("CPU")


def test_keyboard_shortcuts_are_the_documented_ones(window):
    shortcuts = {
        window.file_actions.open_image: "Ctrl+O",
        window.file_actions.open_audio: "Ctrl+Shift+O",
        window.file_actions.paste: "Ctrl+V",
        window.file_actions.record: "Ctrl+R",
        window.file_actions.export: "Ctrl+E",
    }
    for action, keys in shortcuts.items():
        assert action.shortcut().toString() == keys


def _png_bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    digit_image("4").save(buffer, format="PNG")
    return buffer.getvalue()


def test_result_views_are_laid_out_before_the_first_result_without_being_shown(qtbot, window):
    """The first result should not pay for laying out every plot: that happens at start-up,
    unseen, and the window goes back to its placeholder until a result exists."""
    results = window.results
    qtbot.waitUntil(lambda: results.built and results.stack.updatesEnabled(), timeout=TIMEOUT)
    assert results.analysis is None
    assert results.stack.currentWidget() is results.placeholder
    for view in (results.image_map, results.audio_map, results.contributions, results.text_map):
        # Qt keeps a resize pending on a widget that was never laid out while visible.
        assert not view.testAttribute(Qt.WidgetAttribute.WA_PendingResizeEvent), type(view).__name__
