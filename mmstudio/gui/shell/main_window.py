"""The studio's main window: a thin view over the Qt-free :class:`mmstudio.studio.Studio`.

Widgets write the inputs and switches into the studio; the studio's request ledger decides
which result is shown and which error counts; the window's one :class:`AnalysisService` runs
every analysis (interactive and live) on the one model. Menus, the Model menu, export, the
settings and the status bar each live in a module of their own.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.compare.compare_actions import CompareActions
from mmstudio.gui.compare.side_by_side_dock import SideBySideDock
from mmstudio.gui.compare.swap_actions import SwapActions
from mmstudio.gui.dataset.dataset_actions import build_dataset_menu
from mmstudio.gui.dataset.dataset_mode import DatasetMode
from mmstudio.gui.inputs import mime
from mmstudio.gui.inputs.audio_input import AudioInput
from mmstudio.gui.inputs.card import ModalityCard
from mmstudio.gui.inputs.examples import DecodedExample, Example, decode_example, load_examples
from mmstudio.gui.inputs.file_loading import BackgroundLoader
from mmstudio.gui.inputs.image_input import ImageInput
from mmstudio.gui.inputs.text_input import TextInput
from mmstudio.gui.live.live_actions import make_live_actions
from mmstudio.gui.live.live_mode import LiveMode
from mmstudio.gui.results.results_panel import SPLITTERS, ResultsPanel
from mmstudio.gui.service import AnalysisService, ModelInfo
from mmstudio.gui.service.job_calls import JobCalls
from mmstudio.gui.shell.about import about_html
from mmstudio.gui.shell.banner import Banner
from mmstudio.gui.shell.export import export_analysis, suggested_name
from mmstudio.gui.shell.menus import build_file_menu, build_help_menu, fill_examples_menu
from mmstudio.gui.shell.model_menu import DEVICES, ModelMenu
from mmstudio.gui.shell.settings import StudioSettings, open_settings
from mmstudio.gui.shell.status_bar import StudioStatusBar
from mmstudio.gui.shell.theme import restyle_plots
from mmstudio.gui.shell.unavailable import unavailable_html, unavailable_label
from mmstudio.inputs import InputError, Sample
from mmstudio.models.registry import ModelEntry
from mmstudio.studio import Studio

__all__ = ["DEVICES", "MainWindow"]


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
        self.prefs = StudioSettings.read(self.settings, SPLITTERS)
        self.studio = Studio(model, device or self.prefs.device)
        self.service = AnalysisService(self)
        self.model_info: ModelInfo | None = None
        self.examples, self.examples_problem = load_examples()
        self._closing = False
        self._started = False
        self._build_inputs()
        self.results = ResultsPanel()
        self._build_central()
        self.status = StudioStatusBar(self.statusBar())
        self.progress = self.status.progress
        self.model_label = self.status.model_label
        self.device_label = self.status.device_label
        self.latency_label = self.status.latency_label
        self._build_menus()
        self._connect()
        self._restore_settings()
        self._update_summaries()

    @property
    def model_spec(self) -> str:
        return self.studio.model_spec

    @property
    def device_choice(self) -> str:
        return self.studio.device

    # Construction

    def _build_inputs(self) -> None:
        self.image_input = ImageInput()
        self.text_input = TextInput()
        self.audio_input = AudioInput(defer_plot=True)
        self.record_loader = BackgroundLoader(self)  # a Dataset view row's files
        self.record_loader.loaded.connect(self._show_example)
        self.record_loader.failed.connect(self.show_error)
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

    def _build_menus(self) -> None:
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        self.file_actions = build_file_menu(
            file_menu,
            self,
            open_image=self.image_input.open_dialog,
            open_audio=self.audio_input.open_dialog,
            paste=self.paste,
            record=self.audio_input.toggle_recording,
            save_recording=self.audio_input.save_dialog,
            export=self.export_dialog,
            quit=self.close,
        )
        actions = self.file_actions
        self.open_image_action, self.open_audio_action = actions.open_image, actions.open_audio
        self.paste_action, self.record_action = actions.paste, actions.record
        self.save_recording_action, self.export_action = actions.save_recording, actions.export
        self.examples_menu = menus.addMenu("E&xamples")
        fill_examples_menu(
            self.examples_menu, self.examples, self.examples_problem, self.load_example
        )
        self._build_side_by_side(menus.addMenu("&Analysis"))
        live_menu = menus.addMenu("&Live")
        self.live_action, self.snapshot_action = make_live_actions(self)
        live_menu.addAction(self.live_action)
        live_menu.addAction(self.snapshot_action)
        self.live_mode = LiveMode(
            self.results_stack,
            self.results,
            self.service,
            self._live_text,
            (self.live_action, self.snapshot_action),
        )
        self.dataset_mode = DatasetMode(
            self.results_stack, self.results, self.service, self.show_error
        )
        self.dataset_mode.compare_model = self.prefs.dataset_compare_model
        self.dataset_actions = build_dataset_menu(
            menus.addMenu("&Dataset"),
            self,
            self.dataset_mode,
            open_dataset=self.open_dataset_dialog,
            export_folder=lambda: self.prefs.export_folder or str(Path.home()),
            report=self.show_error,
            remember_compare=self._remember_compare_model,
            model_folder=lambda: self.prefs.model_folder,
        )
        file_menu.insertAction(self.file_actions.paste, self.dataset_actions.open)
        self.model_menu = menus.addMenu("&Model")
        self.models = ModelMenu(self.model_menu, self.studio.model_spec, self.studio.device)
        self.model_group = self.models.model_group
        self.device_actions = self.models.device_actions
        self.compare = CompareActions(
            self.model_menu,
            self.models.device_menu.menuAction(),
            self,
            self.job_calls,
            self.side_by_side,
            self.prefs,
            self.settings,
            self.show_error,
        )
        build_help_menu(menus.addMenu("&Help"), self, self.show_about)

    def _build_side_by_side(self, menu) -> None:
        """Swaps and model comparisons, shown in the side-by-side dock (Analysis menu)."""
        self.side_by_side = SideBySideDock(self, self.results)
        self.job_calls = JobCalls(self.service, self)
        self.swaps = SwapActions(
            menu,
            self,
            self.job_calls,
            self.side_by_side,
            sample=self.current_sample,
            examples=self.examples,
            adopt=self._adopt_input,
            folder=lambda m: (
                self.audio_input.last_folder if m == "audio" else self.image_input.last_folder
            ),
            report=self.show_error,
        )
        menu.addSeparator()
        menu.addAction(self.side_by_side.toggle_action)

    def _connect(self) -> None:
        self.image_input.image_changed.connect(self._on_image_changed)
        self.text_input.text_changed.connect(self.studio.set_text)
        self.audio_input.clip_changed.connect(self._on_audio_changed)
        self.audio_input.recording_changed.connect(self._on_recording_changed)
        for widget in (self.image_input, self.text_input, self.audio_input):
            widget.error_occurred.connect(self.show_error)
        for name, card in self.cards.items():
            card.enabled_changed.connect(lambda on, n=name: self.studio.set_enabled(n, on))
        self.studio.inputs_changed.connect(self._on_inputs_changed)
        self.studio.model_chosen.connect(self._on_model_chosen)
        self.studio.device_chosen.connect(self._on_device_chosen)
        self.models.model_chosen.connect(self.load_model)
        self.models.open_folder_requested.connect(self.open_model_folder_dialog)
        self.models.device_chosen.connect(self.choose_device)
        self.results.rendered.connect(self.analysis_shown)
        self.service.started.connect(self._on_analysis_started)
        self.service.result.connect(self._on_analysis_result)
        self.service.error.connect(self._on_service_error)
        self.service.progress.connect(self._on_progress)
        self.service.model_loaded.connect(self._on_model_loaded)
        self.service.model_unavailable.connect(self._on_model_unavailable)
        self.service.models_listed.connect(self.models.list_models)
        self.service.models_listed.connect(self.compare.list_models)
        self.service.devices_found.connect(self.models.enable_devices)
        self.service.device_fallback.connect(self.show_error)
        self.live_mode.snapshot.connect(self._on_live_snapshot)
        self.dataset_mode.record_opened.connect(self.open_record)
        self.dataset_mode.record_swap_requested.connect(
            lambda record, modality: self.swaps.swap_record(record, modality, self._dataset_name())
        )

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
        self.load_model(self.studio.model_spec)
        self.audio_input.build_plot()
        self.results.lay_out_unseen()
        # PortAudio's first device scan takes a moment; let the views paint first.
        QTimer.singleShot(250, self._probe_microphones)

    def _probe_microphones(self) -> None:
        if not self._closing:
            self.audio_input.refresh_microphones()

    # Live mode

    @property
    def live(self):
        """The live panel (built on first use, see live_mode.py)."""
        return self.live_mode.panel

    def _live_text(self) -> str | None:
        return self.text_input.text() if self.text_card.use_input else None

    def _on_live_snapshot(self, sample: Sample) -> None:
        """The frozen frame and audio window become the inputs, analysed like any other."""
        with self.studio.batch():
            if sample.image is not None:
                self.image_input.set_image(sample.image, "live snapshot")
            else:
                self.image_input.clear()
            if sample.audio is not None:
                self.audio_input.set_clip(sample.audio, "live snapshot")
            else:
                self.audio_input.clear()
            self._mirror_inputs()
            self.studio.example = None

    # Settings

    def _restore_settings(self) -> None:
        prefs = self.prefs
        if prefs.geometry is not None:
            self.restoreGeometry(prefs.geometry)
        else:
            self.resize(1440, 900)
        if prefs.window_state is not None:
            self.restoreState(prefs.window_state)
        if "main" in prefs.splitters:
            self.splitter.restoreState(prefs.splitters["main"])
        self.results.restore_splitter_states(
            {k: v for k, v in prefs.splitters.items() if k != "main"}
        )
        self.image_input.last_folder = prefs.image_folder
        self.audio_input.last_folder = prefs.audio_folder
        self.results.set_colormap(prefs.colormap)
        if prefs.opacity is not None:
            self.results.set_opacity(prefs.opacity)

    def save_settings(self) -> None:
        prefs = self.prefs
        prefs.geometry = self.saveGeometry()
        prefs.window_state = self.saveState()
        prefs.splitters = {"main": self.splitter.saveState(), **self.results.splitter_states()}
        prefs.image_folder = self.image_input.last_folder
        prefs.audio_folder = self.audio_input.last_folder
        prefs.colormap = self.results.colormap
        prefs.opacity = self.results.opacity
        prefs.device = self.studio.device
        prefs.write(self.settings)

    # Model

    def load_model(self, spec: str) -> None:
        self.studio.choose_model(spec)

    def _on_model_chosen(self, spec: str) -> None:
        self.service.load_model(spec, self.studio.device)
        self.status.set_busy(True)
        if self.model_info is None:
            self.results.show_placeholder("Loading the model…")

    def open_model_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open Model Folder", self.prefs.model_folder
        )
        if folder:
            self.prefs.model_folder = str(Path(folder).parent)
            self.prefs.write(self.settings)
            self.load_model(folder)

    # Datasets

    def open_dataset_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open Dataset", self.prefs.dataset_folder)
        if folder:
            self.prefs.dataset_folder = str(Path(folder).parent)
            self.prefs.write(self.settings)
            self.open_dataset(folder)

    def _remember_compare_model(self, spec: str) -> None:
        self.prefs.dataset_compare_model = spec
        self.prefs.write(self.settings)

    def open_dataset(self, folder: str | Path) -> None:
        """Analyse a dataset folder with the loaded model in the background (Dataset view)."""
        self.dataset_mode.open_dataset(folder)

    def open_record(self, record: dict) -> None:
        """A row clicked in the Dataset view becomes the inputs, analysed like an example; the
        dataset analysis goes on in the background."""
        example = Example(
            name=f"{record.get('id')} from {self._dataset_name()}",
            image=Path(record["image_path"]) if record.get("image_path") else None,
            audio=Path(record["audio_path"]) if record.get("audio_path") else None,
            text=record.get("text"),
            expected=record.get("label"),
            note="",
        )
        self.dataset_mode.set_shown(False)
        # A dataset's files may be large: decoded in the file-loading pool, not here.
        self.record_loader.start(lambda: decode_example(example), str(example.name))

    def _dataset_name(self) -> str:
        return self.dataset_mode.dataset.name if self.dataset_mode.dataset else "the dataset"

    def choose_device(self, device: str) -> None:
        self.studio.choose_device(device)

    def _on_device_chosen(self, device: str) -> None:
        self.prefs.device = device
        self.prefs.write(self.settings)
        for key, action in self.device_actions.items():
            action.setChecked(key == device)
        self._on_model_chosen(self.studio.model_spec)

    def _on_model_loaded(self, request_id: int, info: ModelInfo) -> None:
        if request_id != self.service.latest_load_id:
            return
        self.model_info = info
        self.status.set_busy(False)
        self.notice_banner.hide()
        self.status.show_model(info)
        self.models.show_loaded(info.source)
        self.statusBar().showMessage(f"Model {info.name} ready on {info.device}", 5000)
        self.model_ready.emit(info)
        if not self.results.has_result():
            self.results.show_placeholder(self.studio.idle_reason())
        self.request_analysis()

    def _on_model_unavailable(self, request_id: int, entry: ModelEntry) -> None:
        if request_id != self.service.latest_load_id:
            return
        self.status.set_busy(False)
        self.notice_banner.show_message(unavailable_html(entry))
        kept = f" · still using {self.model_info.name}" if self.model_info else ""
        self.model_label.setText(f"Model: {entry.name} ({unavailable_label(entry)}){kept}")
        if self.model_info is None:
            self.results.show_placeholder("No trained model is loaded.\nSee the message above.")

    def _on_progress(self, request_id: int, message: str, fraction: float) -> None:
        if request_id != self.service.latest_load_id:
            return
        self.status.show_progress(message, fraction)
        if self.model_info is None and fraction < 1.0:
            self.results.show_placeholder(message)

    # Inputs

    def _on_image_changed(self, image) -> None:
        self.studio.set_image(image)

    def _on_audio_changed(self, clip) -> None:
        self.save_recording_action.setEnabled(self.audio_input.clip is not None)
        self.studio.set_audio(clip)

    def _on_inputs_changed(self, _modality: str | None) -> None:
        self._update_summaries()
        self.request_analysis()

    def _mirror_inputs(self) -> None:
        """Copy what the input widgets hold into the studio (inside a batch)."""
        self.studio.set_image(self.image_input.image)
        self.studio.set_text(self.text_input.text())
        self.studio.set_audio(self.audio_input.clip)

    def _on_recording_changed(self, recording: bool) -> None:
        self.record_action.setText("Stop &Recording" if recording else "&Record")
        self._update_summaries()

    def _update_summaries(self) -> None:
        self.image_card.set_summary(self.image_input.summary())
        self.text_card.set_summary(self.text_input.summary())
        self.audio_card.set_summary(self.audio_input.summary())

    def current_sample(self) -> Sample:
        return self.studio.sample()

    def _adopt_input(self, modality: str, value, name: str) -> None:
        """A kept swap's modality (or, on undo, the original) becomes that input."""
        if modality == "text":
            self.text_input.set_text(value or "")
        elif value is None:
            (self.image_input if modality == "image" else self.audio_input).clear()
        elif modality == "image":
            self.image_input.set_image(value, name)
        else:
            self.audio_input.set_clip(value, name)

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
            self.text_input.load_path(payload.path)
        else:
            self.text_input.editor.insertPlainText(payload.text)

    def load_example(self, example: Example) -> None:
        """Replace all three inputs at once, then run one analysis (not three). The bundled
        examples are small: they are decoded here."""
        self.record_loader.cancel()
        self._show_example(decode_example(example))

    def _show_example(self, decoded: DecodedExample) -> None:
        example = decoded.example
        for problem in decoded.problems:
            self.show_error(problem)
        with self.studio.batch():
            loaded = not decoded.problems
            if decoded.image is not None:
                self.image_input.set_image(decoded.image, example.image.name)
            else:
                self.image_input.clear()
            self.text_input.set_text(example.text or "", notify=False)
            if decoded.audio is not None:
                self.audio_input.set_clip(decoded.audio, example.audio.name)
            else:
                self.audio_input.clear()
            for name, card in self.cards.items():
                card.switch.blockSignals(True)
                card.set_use_input(True)
                card.switch.blockSignals(False)
                self.studio.set_enabled(name, True)
            self._mirror_inputs()
            note = f"Example “{example.name}”: {example.note}" if example.note else ""
            self.studio.load_example(example.expected if loaded else None, note)

    # Analysis

    def request_analysis(self) -> int | None:
        """Ask the worker to analyse the current inputs; returns the request id, if one was sent."""
        if self.studio.in_batch or self._closing or self.live_mode.running:
            return None
        if self.model_info is None:
            return None  # requested again once the model is loaded
        sample = self.studio.sample()
        if not sample.present:
            self.service.cancel_pending()
            self.studio.requests.cancel_all(self.service.latest_analysis_id)
            self.status.set_busy(False)
            self.results.show_placeholder(self.studio.idle_reason())
            self.export_action.setEnabled(False)
            return None
        request_id = self.service.request_analysis(sample)
        self.studio.requests.sent(request_id, sample)
        self.status.set_busy(True)
        return request_id

    def _on_analysis_started(self, request_id: int) -> None:
        if request_id == self.service.latest_analysis_id:
            self.statusBar().showMessage("Analysing…")

    def _on_analysis_result(self, request_id: int, analysis) -> None:
        requests = self.studio.requests
        request = requests.accept_result(request_id)
        if request is None:
            return  # cancelled (the inputs went empty) or older than what is shown
        example = self.studio.example
        self.results.show_analysis(
            analysis,
            request.sample,
            example.expected if example else None,
            example.note if example else "",
            request_id,
        )
        if requests.clears_error(request_id):
            self.error_banner.hide()
        self.status.set_busy(requests.busy)
        self.export_action.setEnabled(True)
        if self.model_info is not None:
            self.compare.on_result(
                analysis, request.sample, self.model_info.name, self.model_info.source
            )
        elapsed = (time.perf_counter() - request.sent_at) * 1000.0
        self.status.show_latency(elapsed, analysis.timings_ms)
        self.statusBar().showMessage(
            f"Predicted {analysis.predicted_label} ({analysis.confidence:.0%})", 5000
        )

    def _on_service_error(self, request_id: int, message: str) -> None:
        if request_id == self.service.latest_load_id:
            self.status.set_busy(False)
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
        if not self.studio.requests.accept_error(request_id):
            return  # a newer request is on its way; its own outcome is what counts
        self.status.set_busy(False)
        self.show_error(message)

    def show_error(self, message: str) -> None:
        """Show a problem inline; whatever result is on screen stays there."""
        self.studio.requests.error_shown()
        text = _sentence(message)
        self.error_banner.show_message(html.escape(text))
        self.statusBar().showMessage(text, 10000)

    # Export, about

    def export_dialog(self) -> None:
        if self.results.analysis is None:
            self.show_error("there is no analysis to export yet")
            return
        folder = self.prefs.export_folder or str(Path.home())
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export Analysis",
            str(Path(folder) / suggested_name(self.results.analysis)),
            "PNG image (*.png)",
        )
        if path:
            self.export(path)

    def export(self, path: str | Path) -> tuple[Path, Path] | None:
        """Write a PNG of the results panel and the Analysis as JSON next to it."""
        analysis = self.results.analysis
        if analysis is None:
            return None
        try:
            png, data = export_analysis(self.results, analysis, path)
        except OSError as error:
            self.show_error(f"the analysis could not be exported: {error}")
            return None
        self.prefs.export_folder = str(png.parent)
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
            self.live_mode.shutdown()
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
