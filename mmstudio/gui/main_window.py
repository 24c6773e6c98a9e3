"""The studio's main window: inputs on the left, results on the right, the model in a worker thread."""

from __future__ import annotations

import html
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui import mime
from mmstudio.gui.about import about_html
from mmstudio.gui.audio_input import AudioInput
from mmstudio.gui.banner import Banner
from mmstudio.gui.card import ModalityCard
from mmstudio.gui.examples import Example, load_examples
from mmstudio.gui.image_input import ImageInput
from mmstudio.gui.live import LivePanel
from mmstudio.gui.results_panel import DEFAULT_OPACITY, SPLITTERS, ResultsPanel
from mmstudio.gui.settings import open_settings, read_float, read_str
from mmstudio.gui.text_input import TextInput
from mmstudio.gui.theme import restyle_plots
from mmstudio.gui.unavailable import unavailable_html, unavailable_label
from mmstudio.gui.worker import AnalysisService, ModelInfo
from mmstudio.inputs import InputError, Sample, load_text_file, normalize_text
from mmstudio.models.registry import DEFAULT_MODEL, ModelEntry

DEVICES = (("auto", "Auto"), ("cpu", "CPU"), ("cuda", "CUDA GPU"), ("mps", "Apple GPU (MPS)"))
_IDLE_HINT = "Drop an image, type some text or record audio\nto see what the model predicts."


class MainWindow(QMainWindow):
    """``model`` is a registered name or a checkpoint folder; ``device`` is auto/cpu/cuda/mps."""

    analysis_shown = Signal(int)
    model_ready = Signal(object)
    first_painted = Signal()

    def __init__(
        self, model: str | None = None, device: str | None = None, *, settings=None
    ) -> None:
        super().__init__()
        self.setWindowTitle("mmstudio")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else open_settings()
        self.service = AnalysisService(self)
        self.model_spec = str(model) if model else DEFAULT_MODEL
        self.device_choice = device or read_str(self.settings, "device", "auto")
        self.model_info: ModelInfo | None = None
        self.examples, self.examples_problem = load_examples()
        # Requests sent and not answered yet: id -> (sample, time sent).
        self._pending: dict[int, tuple[Sample, float]] = {}
        self._error_floor = 0
        self._expected: str | None = None
        self._example_note = ""
        self._batch_depth = 0
        self._closing = False
        self._started = False
        self._accepted_id = 0
        self._build_inputs()
        self.results = ResultsPanel()
        self._build_live()
        self._build_central()
        self._build_status_bar()
        self._build_menus()
        self._connect()
        self._restore_settings()
        self._update_summaries()

    # Construction

    def _build_inputs(self) -> None:
        self.image_input = ImageInput()
        self.text_input = TextInput()
        self.audio_input = AudioInput(defer_plot=True)
        self.image_card = ModalityCard("image", "Image")
        self.image_card.body.addWidget(self.image_input)
        self.text_card = ModalityCard("text", "Text")
        self.text_card.body.addWidget(self.text_input)
        self.audio_card = ModalityCard("audio", "Audio")
        self.audio_card.body.addWidget(self.audio_input)
        self.cards = {"image": self.image_card, "text": self.text_card, "audio": self.audio_card}
        column = QWidget()
        column.setObjectName("inputsColumn")
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(8)
        layout.addWidget(self.image_card, 3)
        layout.addWidget(self.text_card, 0)
        layout.addWidget(self.audio_card, 0)
        # Short screens scroll the inputs rather than squeezing the preview to nothing.
        self.inputs_scroll = QScrollArea()
        self.inputs_scroll.setWidgetResizable(True)
        self.inputs_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.inputs_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.inputs_scroll.setWidget(column)
        scrollbar = self.inputs_scroll.verticalScrollBar().sizeHint().width()
        self.inputs_scroll.setMinimumWidth(column.minimumSizeHint().width() + scrollbar)

    def _build_central(self) -> None:
        self.error_banner = Banner("error")
        self.notice_banner = Banner("info")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.inputs_scroll)
        # Live mode takes the results' place; the inputs stay, so typed text joins every analysis.
        self.results_stack = QStackedWidget()
        self.results_stack.addWidget(self.results)
        self.results_stack.addWidget(self.live)
        self.live.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.splitter.addWidget(self.results_stack)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([340, 1000])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.setSpacing(6)
        layout.addWidget(self.notice_banner)
        layout.addWidget(self.error_banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _build_live(self) -> None:
        self.live = LivePanel(
            self._live_text, lambda: self.model_spec, lambda: self.device_choice, self
        )
        self.live.snapshot.connect(self._on_live_snapshot)
        self.live.running_changed.connect(self._on_live_running_changed)

    def _live_text(self) -> str | None:
        return self.text_input.text() if self.text_card.use_input else None

    def _on_live_running_changed(self, running: bool) -> None:
        shown, hidden = (self.live, self.results) if running else (self.results, self.live)
        # A stacked widget is as wide as its widest page; an ignored hidden page lets the
        # window stay narrow (1024 px) whichever page is showing.
        hidden.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        shown.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.results_stack.setCurrentWidget(shown)

    def _on_live_snapshot(self, sample: Sample) -> None:
        """The frozen frame and audio window become the inputs, analysed like any other."""
        self._batch_depth += 1
        try:
            if sample.image is not None:
                self.image_input.set_image(sample.image, "live snapshot")
            else:
                self.image_input.clear()
            if sample.audio is not None:
                self.audio_input.set_clip(sample.audio, "live snapshot")
            else:
                self.audio_input.clear()
        finally:
            self._batch_depth -= 1
        self._forget_example()
        self._update_summaries()
        self.request_analysis()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setObjectName("busyProgress")
        self.progress.setFixedWidth(140)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.model_label = QLabel("Model: loading…")
        self.model_label.setObjectName("modelStatus")
        self.device_label = QLabel("Device: —")
        self.device_label.setObjectName("deviceStatus")
        self.latency_label = QLabel("Latency: —")
        self.latency_label.setObjectName("latencyStatus")
        for widget in (self.progress, self.model_label, self.device_label, self.latency_label):
            bar.addPermanentWidget(widget)

    def _build_menus(self) -> None:
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        self.open_image_action = self._action(
            file_menu, "Open &Image…", QKeySequence.StandardKey.Open, self.image_input.open_dialog
        )
        self.open_audio_action = self._action(
            file_menu, "Open &Audio…", "Ctrl+Shift+O", self.audio_input.open_dialog
        )
        self.paste_action = self._action(
            file_menu, "&Paste", QKeySequence.StandardKey.Paste, self.paste
        )
        file_menu.addSeparator()
        self.record_action = self._action(
            file_menu, "&Record", "Ctrl+R", self.audio_input.toggle_recording
        )
        self.save_recording_action = self._action(
            file_menu, "&Save Recording…", None, self.audio_input.save_dialog
        )
        file_menu.addSeparator()
        self.export_action = self._action(
            file_menu, "&Export Analysis…", "Ctrl+E", self.export_dialog
        )
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close).setMenuRole(
            QAction.MenuRole.QuitRole
        )
        self.examples_menu = menus.addMenu("E&xamples")
        self._fill_examples_menu()
        live_menu = menus.addMenu("&Live")
        live_menu.addAction(self.live.live_action)
        live_menu.addAction(self.live.snapshot_action)
        self.model_menu = menus.addMenu("&Model")
        self._fill_model_menu()
        help_menu = menus.addMenu("&Help")
        self._action(help_menu, "&About mmstudio", None, self.show_about).setMenuRole(
            QAction.MenuRole.AboutRole
        )
        self.export_action.setEnabled(False)
        self.save_recording_action.setEnabled(False)

    def _action(self, menu, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _fill_examples_menu(self) -> None:
        self.examples_menu.clear()
        if not self.examples:
            placeholder = self.examples_menu.addAction(self.examples_problem or "No examples")
            placeholder.setEnabled(False)
            return
        for example in self.examples:
            action = self.examples_menu.addAction(example.name)
            action.setToolTip(example.note)
            action.setStatusTip(example.note)
            action.triggered.connect(lambda _checked=False, e=example: self.load_example(e))

    def _fill_model_menu(self) -> None:
        menu = self.model_menu
        self.model_group = QActionGroup(self)
        # Filled in when the worker reports the registry (listing it can be slow).
        self._models_placeholder = menu.addAction("Looking for models…")
        self._models_placeholder.setEnabled(False)
        self._models_separator = menu.addSeparator()
        open_folder = menu.addAction("Open Model &Folder…")
        open_folder.triggered.connect(lambda _checked=False: self.open_model_folder_dialog())
        menu.addSeparator()
        device_menu = menu.addMenu("&Device")
        self.device_group = QActionGroup(self)
        self.device_actions: dict[str, QAction] = {}
        for key, label in DEVICES:
            action = device_menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(key == self.device_choice)
            # Which accelerators exist is known only once the worker has imported torch.
            action.setEnabled(key in ("auto", "cpu"))
            action.triggered.connect(lambda _checked=False, k=key: self.choose_device(k))
            self.device_group.addAction(action)
            self.device_actions[key] = action

    def _on_models_listed(self, entries: list[ModelEntry]) -> None:
        menu = self.model_menu
        for entry in entries:
            action = QAction(
                entry.name if entry.available else f"{entry.name}  ({unavailable_label(entry)})",
                self,
            )
            action.setCheckable(True)
            action.setData(entry.name)
            action.setToolTip(entry.description if entry.available else entry.problem)
            action.setStatusTip(entry.description if entry.available else entry.problem)
            action.setChecked(entry.name == self.model_spec)
            action.triggered.connect(lambda _checked=False, name=entry.name: self.load_model(name))
            self.model_group.addAction(action)
            menu.insertAction(self._models_separator, action)
        self._models_placeholder.setVisible(not entries)
        self._models_placeholder.setText("No registered models")

    def _connect(self) -> None:
        self.image_input.image_changed.connect(self._on_image_changed)
        self.text_input.text_changed.connect(self._on_text_changed)
        self.audio_input.clip_changed.connect(self._on_audio_changed)
        self.audio_input.recording_changed.connect(self._on_recording_changed)
        for widget in (self.image_input, self.audio_input):
            widget.error_occurred.connect(self.show_error)
        for card in self.cards.values():
            card.enabled_changed.connect(self._on_modality_toggled)
        self.results.rendered.connect(self._on_results_rendered)
        self.service.started.connect(self._on_analysis_started)
        self.service.result.connect(self._on_analysis_result)
        self.service.error.connect(self._on_service_error)
        self.service.progress.connect(self._on_progress)
        self.service.model_loaded.connect(self._on_model_loaded)
        self.service.model_unavailable.connect(self._on_model_unavailable)
        self.service.models_listed.connect(self._on_models_listed)
        self.service.devices_found.connect(self._on_devices_found)

    def event(self, event) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.Paint and not self._started:
            self._started = True
            # Everything slow starts once the window is on screen: torch's import and the model
            # in the worker, the result views, PortAudio's device scan.
            QTimer.singleShot(0, self._start)
        return handled

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._started:
            # pyqtgraph draws its own backgrounds, which do not follow the palette. The window hears
            # of the change before its children get the new palette, hence the next turn.
            QTimer.singleShot(0, lambda: restyle_plots(self))

    def _start(self) -> None:
        if self._closing:
            return
        self.first_painted.emit()
        self.load_model(self.model_spec)
        self.audio_input.build_plot()
        self.results.lay_out_unseen()
        # PortAudio's first device scan takes a moment; let the views paint first.
        QTimer.singleShot(250, self._probe_microphones)

    def _probe_microphones(self) -> None:
        if not self._closing:
            self.audio_input.refresh_microphones()

    # Settings

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        main = self.settings.value("splitters/main")
        if isinstance(main, QByteArray):
            self.splitter.restoreState(main)
        states = {name: self.settings.value(f"splitters/{name}") for name in SPLITTERS}
        self.results.restore_splitter_states(
            {k: v for k, v in states.items() if isinstance(v, QByteArray)}
        )
        self.image_input.last_folder = read_str(self.settings, "folders/image")
        self.audio_input.last_folder = read_str(self.settings, "folders/audio")
        self.results.set_colormap(read_str(self.settings, "colormap", "inferno"))
        self.results.set_opacity(read_float(self.settings, "opacity", DEFAULT_OPACITY))

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("splitters/main", self.splitter.saveState())
        for name, state in self.results.splitter_states().items():
            self.settings.setValue(f"splitters/{name}", state)
        self.settings.setValue("folders/image", self.image_input.last_folder)
        self.settings.setValue("folders/audio", self.audio_input.last_folder)
        self.settings.setValue("colormap", self.results.colormap)
        self.settings.setValue("opacity", self.results.opacity)
        self.settings.setValue("device", self.device_choice)
        self.settings.sync()

    # Model

    def load_model(self, spec: str) -> None:
        self.model_spec = str(spec)
        self.service.load_model(self.model_spec, self.device_choice)
        self._set_busy(True)
        if self.model_info is None:
            self.results.show_placeholder("Loading the model…")

    def open_model_folder_dialog(self) -> None:
        start = read_str(self.settings, "folders/model")
        folder = QFileDialog.getExistingDirectory(self, "Open Model Folder", start)
        if folder:
            self.settings.setValue("folders/model", str(Path(folder).parent))
            self.load_model(folder)

    def choose_device(self, device: str) -> None:
        self.device_choice = device
        self.settings.setValue("device", device)
        self.load_model(self.model_spec)

    def _on_model_loaded(self, request_id: int, info: ModelInfo) -> None:
        if request_id != self.service.latest_load_id:
            return
        self.model_info = info
        self._set_busy(False)
        self.notice_banner.hide()
        self.model_label.setText(f"Model: {info.name}")
        self.model_label.setToolTip(
            f"{info.source}\n{info.parameters:,} parameters · {len(info.labels)} labels · loaded in {info.load_seconds:.1f} s"
        )
        self.device_label.setText(f"Device: {info.device} · {info.precision}")
        for action in self.model_group.actions():
            action.setChecked(action.data() == info.source)
        self.statusBar().showMessage(f"Model {info.name} ready on {info.device}", 5000)
        self.model_ready.emit(info)
        if not self.results.has_result():
            self.results.show_placeholder(_IDLE_HINT)
        self.request_analysis()

    def _on_model_unavailable(self, request_id: int, entry: ModelEntry) -> None:
        if request_id != self.service.latest_load_id:
            return
        self._set_busy(False)
        self.notice_banner.show_message(unavailable_html(entry))
        kept = f" · still using {self.model_info.name}" if self.model_info else ""
        self.model_label.setText(f"Model: {entry.name} ({unavailable_label(entry)}){kept}")
        if self.model_info is None:
            self.results.show_placeholder("No trained model is loaded.\nSee the message above.")

    def _on_devices_found(self, devices: list[str]) -> None:
        for key, action in self.device_actions.items():
            action.setEnabled(key == "auto" or key in devices)
            if key not in devices and key != "auto":
                action.setToolTip("not available on this machine")

    def _on_progress(self, request_id: int, message: str, fraction: float) -> None:
        if request_id != self.service.latest_load_id:
            return
        self.progress.setRange(0, 100)
        self.progress.setValue(round(fraction * 100))
        self.statusBar().showMessage(message, 4000)
        if self.model_info is None and fraction < 1.0:
            self.results.show_placeholder(message)

    # Inputs

    def _on_image_changed(self, _image) -> None:
        self._forget_example()
        self._update_summaries()
        self.request_analysis()

    def _on_text_changed(self, _text: str) -> None:
        self._forget_example()
        self._update_summaries()
        self.request_analysis()

    def _on_audio_changed(self, _clip) -> None:
        self._forget_example()
        self.save_recording_action.setEnabled(self.audio_input.clip is not None)
        self._update_summaries()
        self.request_analysis()

    def _on_modality_toggled(self, _on: bool) -> None:
        self._update_summaries()
        self.request_analysis()

    def _on_recording_changed(self, recording: bool) -> None:
        self.record_action.setText("Stop &Recording" if recording else "&Record")
        self._update_summaries()

    def _update_summaries(self) -> None:
        self.image_card.set_summary(self.image_input.summary())
        self.text_card.set_summary(self.text_input.summary())
        self.audio_card.set_summary(self.audio_input.summary())

    def _forget_example(self) -> None:
        if self._batch_depth == 0:
            self._expected = None
            self._example_note = ""

    def current_sample(self) -> Sample:
        """The inputs that are switched on. The image and the clip were validated when loaded, so
        they go in as they are (make_sample would convert the image again on every keystroke)."""
        use = {name: card.use_input for name, card in self.cards.items()}
        text, notes = None, []
        if use["text"] and self.text_input.text().strip():
            text, notes = normalize_text(self.text_input.text())
        return Sample(
            image=self.image_input.image if use["image"] else None,
            text=text,
            audio=self.audio_input.clip if use["audio"] else None,
            notes=tuple(notes),
        )

    def paste(self) -> None:
        data = QGuiApplication.clipboard().mimeData()
        self._accept_payload(data, "the clipboard")

    def dragEnterEvent(self, event) -> None:
        data = event.mimeData()
        if (
            data.hasUrls()
            or data.hasImage()
            or data.hasText()
            or any(f.startswith("image/") for f in data.formats())
        ):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        event.acceptProposedAction()
        self._accept_payload(event.mimeData(), "the drop")

    def _accept_payload(self, data, origin: str) -> None:
        try:
            payload = mime.route(data)
        except InputError as error:
            self.show_error(str(error))
            return
        if payload is None:
            self.show_error(f"there is nothing mmstudio can use in {origin}")
        elif payload.kind == "image":
            self.image_input.load_mime(data)
        elif payload.kind == "audio":
            self.audio_input.load_path(payload.path)
        elif payload.path is not None:
            self._load_text_file(payload.path)
        else:
            self.text_input.editor.insertPlainText(payload.text)

    def _load_text_file(self, path: str) -> None:
        try:
            self.text_input.set_text(load_text_file(path))
        except InputError as error:
            self.show_error(str(error))

    def load_example(self, example: Example) -> None:
        """Replace all three inputs at once, then run one analysis (not three)."""
        self._batch_depth += 1
        try:
            loaded = True
            if example.image is not None:
                loaded &= self.image_input.load_path(example.image)
            else:
                self.image_input.clear()
            self.text_input.set_text(example.text or "", notify=False)
            if example.audio is not None:
                loaded &= self.audio_input.load_path(example.audio)
            else:
                self.audio_input.clear()
            for card in self.cards.values():
                card.switch.blockSignals(True)
                card.set_use_input(True)
                card.switch.blockSignals(False)
        finally:
            self._batch_depth -= 1
        self._expected = example.expected if loaded else None
        self._example_note = f"Example “{example.name}”: {example.note}" if example.note else ""
        self._update_summaries()
        self.request_analysis()

    # Analysis

    def request_analysis(self) -> int | None:
        """Ask the worker to analyse the current inputs; returns the request id, if one was sent."""
        if self._batch_depth or self._closing or self.live.session.running:
            return None
        if self.model_info is None:
            return None  # requested again once the model is loaded
        sample = self.current_sample()
        if not sample.present:
            self.service.cancel_pending()
            self._pending.clear()
            self._set_busy(False)
            self.results.show_placeholder(
                _IDLE_HINT
                if not self._any_input()
                else "Every input is switched off.\nSwitch one on to analyse it."
            )
            self.export_action.setEnabled(False)
            return None
        request_id = self.service.request_analysis(sample)
        self._pending[request_id] = (sample, time.perf_counter())
        self._set_busy(True)
        return request_id

    def _any_input(self) -> bool:
        return (
            self.image_input.image is not None
            or bool(self.text_input.text().strip())
            or self.audio_input.clip is not None
        )

    def _on_analysis_started(self, request_id: int) -> None:
        if request_id == self.service.latest_analysis_id:
            self.statusBar().showMessage("Analysing…")

    def _on_analysis_result(self, request_id: int, analysis) -> None:
        """Show a result newer than the one on screen.

        The worker skips queued requests that a newer one replaced, but finishes the one it is
        running: showing that result even when a newer request waits means a steady stream of
        requests still shows fresh results instead of none at all.
        """
        entry = self._pending.get(request_id)
        if entry is None or request_id <= self._accepted_id:
            return  # cancelled (the inputs went empty) or older than what is shown
        sample, started = entry
        # This request and every older one are answered or were skipped by the worker.
        self._pending = {k: v for k, v in self._pending.items() if k > request_id}
        self._accepted_id = request_id
        self.results.show_analysis(analysis, sample, self._expected, self._example_note, request_id)
        if request_id > self._error_floor:
            self.error_banner.hide()
        self._set_busy(bool(self._pending))
        self.export_action.setEnabled(True)
        elapsed = (time.perf_counter() - started) * 1000.0
        compute = analysis.timings_ms.get("total", elapsed)
        self.latency_label.setText(f"Latency: {elapsed:.0f} ms")
        stages = ", ".join(
            f"{k} {v:.0f} ms" for k, v in analysis.timings_ms.items() if k != "total"
        )
        self.latency_label.setToolTip(
            f"Request to result {elapsed:.0f} ms; model {compute:.0f} ms ({stages})"
        )
        self.statusBar().showMessage(
            f"Predicted {analysis.predicted_label} ({analysis.confidence:.0%})", 5000
        )

    def _on_results_rendered(self, request_id: int) -> None:
        self.analysis_shown.emit(request_id)

    def _on_service_error(self, request_id: int, message: str) -> None:
        if request_id == self.service.latest_load_id:
            self._set_busy(False)
            kept = (
                f" The previous model ({self.model_info.name}) is still in use."
                if self.model_info
                else ""
            )
            self.show_error(f"The model could not be loaded: {message}.{kept}")
            if self.model_info is None:
                self.model_label.setText("Model: none loaded")
                self.results.show_placeholder("No model is loaded.\nChoose one in the Model menu.")
            return
        self._pending = {k: v for k, v in self._pending.items() if k > request_id}
        if request_id != self.service.latest_analysis_id:
            return  # a newer request is on its way; its own outcome is what counts
        self._set_busy(False)
        self.show_error(message)

    def show_error(self, message: str) -> None:
        """Show a problem inline; whatever result is on screen stays there."""
        self._error_floor = self.service.latest_analysis_id
        text = _sentence(message)
        self.error_banner.show_message(html.escape(text))
        self.statusBar().showMessage(text, 10000)

    def _set_busy(self, busy: bool) -> None:
        if busy:
            self.progress.setRange(0, 0)  # indeterminate until the worker reports progress
            self.progress.show()
        else:
            self.progress.hide()

    # Export, about

    def export_dialog(self) -> None:
        if self.results.analysis is None:
            self.show_error("there is no analysis to export yet")
            return
        folder = read_str(self.settings, "folders/export") or str(Path.home())
        name = f"analysis-{self.results.analysis.predicted_label}.png"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export Analysis", str(Path(folder) / name), "PNG image (*.png)"
        )
        if path:
            self.export(path)

    def export(self, path: str | Path) -> tuple[Path, Path] | None:
        """Write a PNG of the results panel and the Analysis as JSON next to it."""
        analysis = self.results.analysis
        if analysis is None:
            return None
        png = Path(path).with_suffix(".png")
        data = png.with_suffix(".json")
        try:
            png.parent.mkdir(parents=True, exist_ok=True)
            if not self.results.grab().save(str(png), "PNG"):
                raise OSError(f"could not write {png}")
            data.write_text(analysis.to_json(), encoding="utf-8")
        except OSError as error:
            self.show_error(f"the analysis could not be exported: {error}")
            return None
        self.settings.setValue("folders/export", str(png.parent))
        self.statusBar().showMessage(f"Exported {png.name} and {data.name}", 5000)
        return png, data

    def show_about(self) -> None:
        device = self.model_info.device if self.model_info else ""
        model = self.model_info.name if self.model_info else ""
        QMessageBox.about(self, "About mmstudio", about_html(device, model))

    # Closing

    def closeEvent(self, event) -> None:
        if not self._closing:
            self._closing = True
            self.save_settings()
            self.audio_input.shutdown()
            self.live.shutdown()
            # Gone from the screen at once; the worker may still be finishing one step.
            self.hide()
            self.service.shutdown()
        event.accept()


def _sentence(message: str) -> str:
    """Capitalised, unless it starts with a file name ("broken.png: …" must stay as the file is named)."""
    head, colon, _ = message.partition(":")
    if colon and " " not in head:
        return message
    return message[:1].upper() + message[1:]
