"""The live-mode page: device pickers, the Live and Snapshot actions, the CSV log, the view.

The main window embeds one LivePanel on its own analysis service (one model for the window),
adds ``live_action`` (F5) and ``snapshot_action`` (Space) to its menus or toolbar, and connects
``snapshot`` to its analysis view. A panel made without a service (a benchmark, a test) makes
one of its own and stops it in :meth:`LivePanel.shutdown`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mmstudio.audio import MicrophoneError, list_input_devices
from mmstudio.gui.live.live_actions import make_live_actions
from mmstudio.gui.service import AnalysisService

from .camera import list_cameras
from .session import DEFAULT, LiveSession, ModelSpec
from .view import LiveView

_NONE = "none"


class LivePanel(QWidget):
    snapshot = Signal(object)  # Sample
    message = Signal(str, str)  # text, kind
    running_changed = Signal(bool)

    def __init__(
        self,
        text_getter: Callable[[], str | None],
        model_spec: ModelSpec | None = "digits",
        device: str | None | Callable[[], str | None] = None,
        parent: QWidget | None = None,
        *,
        service: AnalysisService | None = None,
        actions: tuple[QAction, QAction] | None = None,
        generation_options: Callable[[], object] | None = None,
    ) -> None:
        """With a ``service``, live mode uses the model loaded in it (``model_spec`` None) or
        loads ``model_spec`` into it; without one, the panel makes its own service.
        ``actions`` are the Live and Snapshot actions when the window made them already;
        ``generation_options()`` a generative model's decoding options for each answer."""
        super().__init__(parent)
        self._owns_service = service is None
        self.service = service if service is not None else AnalysisService(self)
        self.view = LiveView(self)
        self.session = LiveSession(
            self.view,
            text_getter,
            self.service,
            model_spec,
            device,
            self,
            generation_options=generation_options,
        )
        self.session.snapshot.connect(self.snapshot)
        self.session.message.connect(self.message)
        self.session.running_changed.connect(self._on_running_changed)
        self._build_actions(*(actions or (None, None)))
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_controls())
        layout.addWidget(self.view, 1)
        self.refresh_devices()
        QMediaDevices(self).videoInputsChanged.connect(self.refresh_devices)

    def _build_actions(self, live: QAction | None, snapshot: QAction | None) -> None:
        if live is None or snapshot is None:
            live, snapshot = make_live_actions(self)
        self.live_action, self.snapshot_action = live, snapshot
        self.live_action.toggled.connect(self.session.set_running)
        self.snapshot_action.triggered.connect(self.session.take_snapshot)
        self.addActions([self.live_action, self.snapshot_action])

    def _build_controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.camera_box = QComboBox()
        self.camera_box.setAccessibleName("Camera")
        self.camera_box.currentIndexChanged.connect(self._on_camera_change)
        self.microphone_box = QComboBox()
        self.microphone_box.setAccessibleName("Microphone")
        self.microphone_box.currentIndexChanged.connect(self._on_microphone_change)
        self.window_box = QDoubleSpinBox()
        self.window_box.setRange(0.5, 5.0)
        self.window_box.setSingleStep(0.25)
        self.window_box.setSuffix(" s")
        self.window_box.setValue(self.session.window_seconds)
        self.window_box.setToolTip("Length of the sliding audio window each analysis hears")
        self.window_box.valueChanged.connect(self._on_window_change)
        self.threshold_box = QDoubleSpinBox()
        self.threshold_box.setRange(-90.0, 0.0)
        self.threshold_box.setSuffix(" dBFS")
        self.threshold_box.setValue(self.session.gate.threshold_db)
        self.threshold_box.setToolTip(
            "Voice gate: quieter audio counts as absent, so silence does not vote"
        )
        self.threshold_box.valueChanged.connect(self._on_threshold_change)
        live_button = QPushButton()
        live_button.setCheckable(True)
        live_button.toggled.connect(self.live_action.setChecked)
        self.live_action.toggled.connect(live_button.setChecked)
        live_button.setText("Live (F5)")
        snapshot_button = QPushButton("Snapshot (Space)")
        snapshot_button.clicked.connect(self.snapshot_action.trigger)
        self.snapshot_action.changed.connect(
            lambda: snapshot_button.setEnabled(self.snapshot_action.isEnabled())
        )
        snapshot_button.setEnabled(False)
        self.log_box = QCheckBox("Log predictions")
        self.log_box.toggled.connect(self._on_log_change)
        self.save_log_button = QPushButton("Save log…")
        self.save_log_button.clicked.connect(self.save_log)
        for label, widget in (
            ("Camera", self.camera_box),
            ("Microphone", self.microphone_box),
            ("Window", self.window_box),
            ("Gate", self.threshold_box),
        ):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addStretch(1)
        for widget in (self.log_box, self.save_log_button, snapshot_button, live_button):
            row.addWidget(widget)
        return row

    @Slot()
    def refresh_devices(self) -> None:
        self.camera_box.blockSignals(True)
        self.camera_box.clear()
        self.camera_box.addItem("Default camera", DEFAULT)
        for camera in list_cameras():
            self.camera_box.addItem(camera.description(), camera)
        self.camera_box.addItem("No camera", _NONE)
        self.camera_box.blockSignals(False)
        self.microphone_box.blockSignals(True)
        self.microphone_box.clear()
        self.microphone_box.addItem("Default microphone", DEFAULT)
        try:
            for device in list_input_devices():
                self.microphone_box.addItem(device.label, device.index)
        except MicrophoneError as error:
            self.microphone_box.setToolTip(str(error))
        self.microphone_box.addItem("No microphone", _NONE)
        self.microphone_box.blockSignals(False)

    def _on_camera_change(self, _index: int) -> None:
        choice = self.camera_box.currentData()
        self.session.camera_choice = None if choice == _NONE else choice
        self._restart_if_running()

    def _on_microphone_change(self, _index: int) -> None:
        choice = self.microphone_box.currentData()
        self.session.microphone_choice = None if choice == _NONE else choice
        self._restart_if_running()

    def _on_window_change(self, seconds: float) -> None:
        self.session.window_seconds = seconds
        audio = self.session.audio_window
        if audio is not None:
            audio.seconds = seconds

    def _on_threshold_change(self, threshold_db: float) -> None:
        self.session.gate.threshold_db = threshold_db

    def _on_log_change(self, on: bool) -> None:
        self.session.log.enabled = on

    def _restart_if_running(self) -> None:
        if self.session.running:
            self.session.stop()
            self.session.start()

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        self.snapshot_action.setEnabled(running)
        if self.live_action.isChecked() != running:
            self.live_action.setChecked(running)  # stopped by a snapshot or a failed model
        self.running_changed.emit(running)

    def save_log(self, path: str | Path | None = None) -> Path | None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Save live predictions", "live-predictions.csv", "CSV (*.csv)"
            )
            if not chosen:
                return None
            path = chosen
        try:
            return self.session.log.save(path)
        except OSError as error:
            self.view.show_message(f"The log could not be saved: {error}", "error")
            return None

    def shutdown(self) -> None:
        self.session.shutdown()
        if self._owns_service:
            self.service.shutdown()
