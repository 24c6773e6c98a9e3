"""The Model menu: the registered models (listed once the worker reports the registry), Open
Model Folder, and the device submenu."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from mmstudio.gui.common.unavailable import unavailable_label

DEVICES = (("auto", "Auto"), ("cpu", "CPU"), ("cuda", "CUDA GPU"), ("mps", "Apple GPU (MPS)"))


class ModelMenu(QObject):
    """Signals: model_chosen(spec), open_folder_requested(), device_chosen(device)."""

    model_chosen = Signal(str)
    open_folder_requested = Signal()
    device_chosen = Signal(str)

    def __init__(self, menu: QMenu, current_model: str, current_device: str) -> None:
        super().__init__(menu)
        self.menu = menu
        self.current_model = current_model
        self.model_group = QActionGroup(self)
        # Filled in when the worker reports the registry (listing it can be slow).
        self._placeholder = menu.addAction("Looking for models…")
        self._placeholder.setEnabled(False)
        self._separator = menu.addSeparator()
        self.open_folder_action = menu.addAction("Open Model &Folder…")
        self.open_folder_action.triggered.connect(
            lambda _checked=False: self.open_folder_requested.emit()
        )
        menu.addSeparator()
        self.device_menu = menu.addMenu("&Device")
        self.device_group = QActionGroup(self)
        self.device_actions: dict[str, QAction] = {}
        for key, label in DEVICES:
            action = self.device_menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(key == current_device)
            # Which accelerators exist is known only once the worker has imported torch.
            action.setEnabled(key in ("auto", "cpu"))
            action.triggered.connect(lambda _checked=False, k=key: self.device_chosen.emit(k))
            self.device_group.addAction(action)
            self.device_actions[key] = action

    def list_models(self, entries) -> None:
        for entry in entries:
            action = QAction(
                entry.name if entry.available else f"{entry.name}  ({unavailable_label(entry)})",
                self,
            )
            action.setCheckable(True)
            action.setData(entry.name)
            tip = entry.description if entry.available else entry.problem
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.setChecked(entry.name == self.current_model)
            action.triggered.connect(
                lambda _checked=False, name=entry.name: self.model_chosen.emit(name)
            )
            self.model_group.addAction(action)
            self.menu.insertAction(self._separator, action)
        self._placeholder.setVisible(not entries)
        self._placeholder.setText("No registered models")

    def show_loaded(self, source: str) -> None:
        self.current_model = source
        for action in self.model_group.actions():
            action.setChecked(action.data() == source)

    def enable_devices(self, devices: list[str]) -> None:
        for key, action in self.device_actions.items():
            action.setEnabled(key == "auto" or key in devices)
            if key not in devices and key != "auto":
                action.setToolTip("not available on this machine")
