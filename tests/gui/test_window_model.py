"""The Model menu and the settings on the real window: choosing a model, opening a model folder,
a plugin's model in the menu, switching the device, and what is remembered across sessions."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

from tests.gui.helpers import save_tiny_model

pytestmark = pytest.mark.gui
TIMEOUT = 120_000


def test_choosing_a_model_from_the_model_menu_loads_it(qtbot, window, monkeypatch):
    from mmstudio.models import registry

    folder = str(window.model_spec)
    entry = registry.ModelEntry(
        "menu-test-model", lambda device: registry.open_folder(folder, device)
    )
    monkeypatch.setitem(registry._REGISTRY, entry.name, entry)
    window.models.list_models([entry])
    action = next(a for a in window.models.model_group.actions() if a.data() == "menu-test-model")
    with qtbot.waitSignal(window.model_ready, timeout=TIMEOUT) as ready:
        action.trigger()
    assert ready.args[0].source == "menu-test-model"
    assert action.isChecked()
    assert window.studio.model_spec == "menu-test-model"


def test_open_model_folder_loads_the_chosen_folder_and_remembers_where(
    qtbot, window, tmp_path, monkeypatch
):
    folder = save_tiny_model(tmp_path / "models")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(folder))
    open_folder = window.models.open_folder_action
    assert open_folder.text() == "Open Model &Folder…"
    with qtbot.waitSignal(window.model_ready, timeout=TIMEOUT) as ready:
        open_folder.trigger()
    assert ready.args[0].source == str(folder)
    assert window.settings.value("folders/model") == str(folder.parent)


def test_a_plugin_appears_in_the_model_menu(qtbot, tiny_model_dir, monkeypatch):
    """A model from an installed package's ``mmstudio.models`` entry point is listed beside
    the built-in ones."""
    from importlib.metadata import EntryPoint

    from mmstudio.models import registry

    plugin = EntryPoint("menu-plugin", "tests.gui.helpers:save_tiny_model", "mmstudio.models")
    real = registry.entry_points

    def with_plugin(group):
        found = list(real(group=group))
        return [*found, plugin] if group == registry.ENTRY_POINT_GROUP else found

    monkeypatch.setattr(registry, "entry_points", with_plugin)
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_discovered", False)
    monkeypatch.setattr(
        "mmstudio.gui.inputs.microphone.probe", lambda refresh=False: "No microphone (test)"
    )
    from mmstudio.gui.shell.main_window import MainWindow

    window = MainWindow(model=str(tiny_model_dir), device="cpu")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.service.models_listed, timeout=TIMEOUT):
        window.show()
    names = [action.data() for action in window.models.model_group.actions()]
    assert names[0] == "digits" and "menu-plugin" in names
    action = next(a for a in window.models.model_group.actions() if a.data() == "menu-plugin")
    assert "plugin tests.gui.helpers:save_tiny_model" in registry.get_entry("menu-plugin").source
    assert action.isCheckable() and not action.isChecked()
    window.close()


def test_switching_the_device_reloads_the_model_there_and_is_remembered(
    qtbot, window, _private_settings
):
    assert window.models.device_actions["cpu"].isChecked()
    with qtbot.waitSignal(window.model_ready, timeout=TIMEOUT) as ready:
        window.models.device_actions["auto"].trigger()
    assert window.studio.device == "auto" and window.models.device_actions["auto"].isChecked()
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert ready.args[0].device_type in (expected, "mps")
    assert window.settings.value("device") == "auto"
    window.close()
    from mmstudio.gui.shell.main_window import MainWindow

    again = MainWindow(model=str(window.model_spec))  # no device given: the saved one
    qtbot.addWidget(again)
    assert again.studio.device == "auto" and again.models.device_actions["auto"].isChecked()
    again.close()


def test_last_folders_survive_a_restart(qtbot, window, input_files, tmp_path):
    window.inputs.image_input.load_path(input_files.image)
    window.inputs.audio_input.load_path(input_files.audio)
    window.prefs.export_folder = str(tmp_path / "exports")
    window.close()
    from mmstudio.gui.common.settings import StudioSettings
    from mmstudio.gui.results.results_panel import SPLITTERS
    from mmstudio.gui.shell.main_window import MainWindow

    saved = StudioSettings.read(window.settings, SPLITTERS)
    assert saved.image_folder == saved.audio_folder == str(input_files.image.parent)
    assert saved.export_folder == str(tmp_path / "exports")
    again = MainWindow(model=str(window.model_spec), device="cpu")
    qtbot.addWidget(again)
    assert again.inputs.image_input.last_folder == str(input_files.image.parent)
    assert again.inputs.audio_input.last_folder == str(input_files.audio.parent)
    assert again.prefs.export_folder == str(tmp_path / "exports")
    again.close()
