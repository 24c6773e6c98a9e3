"""Fixtures for the studio's Qt tests: offscreen Qt, private settings, no leaked threads.

Set before anything imports Qt: the tests run without a display unless a test starts its own
(the Xvfb tests run the app in a subprocess with its own environment).
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = os.environ.get("MMSTUDIO_TEST_QPA", "offscreen")

import weakref  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QSettings, QThread  # noqa: E402

from tests.conftest import require_or_skip  # noqa: E402,F401 - the helper tests/gui uses
from tests.gui import helpers  # noqa: E402
from tests.gui.virtual_microphone import (  # noqa: E402,F401 - fixtures tests/gui share
    _process_sink,
    pulseaudio,
    virtual_microphone,
)


@pytest.fixture(autouse=True)
def _private_settings(tmp_path, monkeypatch):
    """Every test gets an empty settings store of its own; the user's is never touched."""
    folder = tmp_path / "settings"
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    monkeypatch.setenv("MMSTUDIO_SETTINGS_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def _no_running_threads(monkeypatch):
    """Fail any test that leaves a QThread running (napari's conftest does the same)."""
    started: list[weakref.ref] = []
    original = QThread.start

    def recording_start(self, *args, **kwargs):
        started.append(weakref.ref(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield
    leaked = [thread for ref in started if (thread := ref()) is not None and _running(thread)]
    for thread in leaked:  # stop them anyway, so one failure does not hang the whole session
        thread.quit()
        thread.wait(5000)
    if leaked:
        names = ", ".join(thread.objectName() or type(thread).__name__ for thread in leaked)
        pytest.fail(f"the test left {len(leaked)} QThread(s) running: {names}")


def _running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is already gone, so the thread is too
        return False


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A random FusionNet saved as a checkpoint folder: fast, and never mistaken for a trained one."""
    return helpers.save_tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def input_files(tmp_path_factory):
    return helpers.write_input_files(tmp_path_factory.mktemp("inputs"))


@pytest.fixture
def window(qtbot, tiny_model_dir, monkeypatch):
    """The main window with the tiny model loaded and no microphone (probing is made instant)."""
    monkeypatch.setattr(
        "mmstudio.gui.inputs.microphone.probe", lambda refresh=False: "No microphone (test)"
    )
    from mmstudio.gui.shell.main_window import MainWindow

    win = MainWindow(model=str(tiny_model_dir), device="cpu")
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.model_ready, timeout=120_000):
        win.show()
    return win


@pytest.fixture
def studio(qtbot, monkeypatch, tmp_path):
    """The real window on the shipped digits model, with a private dataset cache."""
    from mmstudio.models.registry import get_entry

    require_or_skip(get_entry("digits").available, "the shipped digits weights are missing")
    monkeypatch.setattr(
        "mmstudio.gui.inputs.microphone.probe", lambda refresh=False: "No microphone (test)"
    )
    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    from mmstudio.gui.shell.main_window import MainWindow

    window = MainWindow(model="digits", device="cpu")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.model_ready, timeout=120_000):
        window.show()
    return window
