"""The bad-input corpus dropped on the real window: every image, text and audio file of every class,
as a person would drop it (real QMimeData with the file's URL, on the main window, which routes
it to its input). Each must end in a readable banner naming the file, or in an analysis that
shows the case's note, with no exception and the window still up."""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from tests.badinput.corpus import load_cases  # noqa: E402
from tests.gui.helpers import drop, file_mime, save_tiny_model  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.slow]
DROPPED = [case for case in load_cases() if case.drop is not None]
TIMEOUT_MS = 120_000
CHANGED_SIGNAL = {"image": "image_changed", "text": "text_changed", "audio": "clip_changed"}


@pytest.fixture(scope="module")
def corpus_window(qapp, tmp_path_factory):
    """One window for all drops (loading a model per case would dominate the run), with private
    settings and no microphone probing."""
    from PySide6.QtCore import QSettings

    settings = tmp_path_factory.mktemp("settings")
    with pytest.MonkeyPatch.context() as patch:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings))
        patch.setenv("MMSTUDIO_SETTINGS_DIR", str(settings))
        patch.setattr(
            "mmstudio.gui.inputs.microphone.probe", lambda refresh=False: "No microphone (test)"
        )
        from mmstudio.gui.shell.main_window import MainWindow

        window = MainWindow(
            model=str(save_tiny_model(tmp_path_factory.mktemp("model"))), device="cpu"
        )
        ready = []
        window.model_ready.connect(ready.append)
        window.show()
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while not ready and time.monotonic() < deadline:
            qapp.processEvents()
            time.sleep(0.01)
        assert ready, "the model did not load"
        yield window
        window.close()


def _input_for(window, path):
    from mmstudio.gui.inputs.mime import kind_of_path

    kind = kind_of_path(path) or "image"
    return kind, {
        "image": window.inputs.image_input,
        "text": window.inputs.text_input,
        "audio": window.inputs.audio_input,
    }[kind]


@pytest.mark.parametrize("case", DROPPED, ids=[case.name for case in DROPPED])
def test_case_dropped_on_the_window(case, corpus_window, qtbot, tmp_path):
    window = corpus_window
    case.build(tmp_path)
    path = case.drop(tmp_path)
    modality, target = _input_for(window, path)
    window.inputs.image_input.clear()
    window.inputs.audio_input.clear()
    window.inputs.text_input.set_text("", notify=False)
    errors, changes, shown = [], [], []
    target.error_occurred.connect(errors.append)
    changed = getattr(target, CHANGED_SIGNAL[modality])
    changed.connect(changes.append)
    window.analysis_shown.connect(shown.append)
    try:
        drop(window, file_mime(path))
        if case.expect == "error":
            qtbot.waitUntil(lambda: bool(errors), timeout=TIMEOUT_MS)
            assert case.names.lower() in errors[0].lower(), errors[0]
            assert window.error_banner.isVisible()
            assert case.names.lower() in window.error_banner.text().lower()
            assert not changes, "a refused file replaced the input"
        else:
            qtbot.waitUntil(lambda: bool(changes) or bool(errors), timeout=TIMEOUT_MS)
            assert not errors, errors
            qtbot.waitUntil(
                lambda: (
                    bool(shown)
                    and window.results.analysis is not None
                    and window.results.analysis.present != []
                ),
                timeout=TIMEOUT_MS,
            )
            qtbot.waitUntil(lambda: modality in window.results.analysis.present, timeout=TIMEOUT_MS)
            if case.expect == "noted":
                qtbot.waitUntil(
                    lambda: case.names.lower() in window.results.notes.text().lower(),
                    timeout=TIMEOUT_MS,
                )
    finally:
        target.error_occurred.disconnect(errors.append)
        changed.disconnect(changes.append)
        window.analysis_shown.disconnect(shown.append)
    assert window.isVisible()
