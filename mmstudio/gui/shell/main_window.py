"""The studio's main window: a thin view over the Qt-free :class:`mmstudio.studio.Studio`.

The window composes the parts and wires them together: the inputs column (the three cards,
drops, paste, examples and dataset records) writes the inputs into the studio; the analysis
presenter sends them to the window's one :class:`AnalysisService` and shows what comes back
(results, errors, latency); live mode and the Dataset view take the results' place. Menus, the
Model menu, export, the settings and the status bar each live in a module of their own.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.common.settings import StudioSettings, open_settings
from mmstudio.gui.common.theme import restyle_plots
from mmstudio.gui.compare.compare_actions import CompareActions
from mmstudio.gui.compare.side_by_side_dock import SideBySideDock
from mmstudio.gui.compare.swap_actions import SwapActions
from mmstudio.gui.dataset.dataset_actions import build_dataset_menu
from mmstudio.gui.dataset.dataset_mode import DatasetMode
from mmstudio.gui.inputs.column import InputsColumn
from mmstudio.gui.inputs.examples import load_examples
from mmstudio.gui.live.live_actions import make_live_actions
from mmstudio.gui.live.live_mode import LiveMode
from mmstudio.gui.results.results_panel import SPLITTERS, ResultsPanel
from mmstudio.gui.service import AnalysisService
from mmstudio.gui.service.job_calls import JobCalls
from mmstudio.gui.shell.about import about_html
from mmstudio.gui.shell.banner import Banner
from mmstudio.gui.shell.export import export_analysis, suggested_name
from mmstudio.gui.shell.generation_menu import GenerationMenu
from mmstudio.gui.shell.menus import build_file_menu, build_help_menu, fill_examples_menu
from mmstudio.gui.shell.model_menu import DEVICES, ModelMenu
from mmstudio.gui.shell.presenter import AnalysisPresenter
from mmstudio.gui.shell.status_bar import StudioStatusBar
from mmstudio.gui.training.training_mode import TrainingMode, build_training_menu
from mmstudio.studio import Studio

__all__ = ["DEVICES", "MainWindow"]

GENERATIVE_OFF = (
    "comparisons are for classifiers; Compare With and Swap Modality are off while a "
    "generative model is loaded"
)


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
        self.examples, self.examples_problem = load_examples()
        self._closing = False
        # Tips of the actions that are off for generative models, as a classifier has them.
        self._classifier_tips: dict = {}
        self._started = False
        # An event filter, removed at the first paint, rather than an ``event`` override: an
        # override would run every later repaint of the window under the interpreter lock,
        # which a generation streaming in the analysis thread then waits for.
        self._first_paint = _FirstPaint(self, self._on_first_paint)
        self.inputs = InputsColumn(self.studio)
        self.results = ResultsPanel()
        self._build_central()
        self.status = StudioStatusBar(self.statusBar())
        self.presenter = AnalysisPresenter(
            self.studio,
            self.service,
            self.results,
            self.status,
            (self.error_banner, self.notice_banner),
            paused=lambda: self._closing or self.live_mode.running,
            parent=self,
        )
        self._build_menus()
        self._connect()
        self._restore_settings()

    @property
    def model_spec(self) -> str:
        return self.studio.model_spec

    # Construction

    def _build_central(self) -> None:
        self.error_banner = Banner("error")
        self.notice_banner = Banner("info")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.inputs)
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
            open_image=self.inputs.image_input.open_dialog,
            open_audio=self.inputs.audio_input.open_dialog,
            paste=self.inputs.paste,
            record=self.inputs.audio_input.toggle_recording,
            save_recording=self.inputs.audio_input.save_dialog,
            export=self.export_dialog,
            quit=self.close,
        )
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
            self.inputs.live_text,
            (self.live_action, self.snapshot_action),
        )
        self.dataset_mode = DatasetMode(
            self.results_stack, self.results, self.service, self.presenter.show_error
        )
        self.dataset_mode.compare_model = self.prefs.dataset_compare_model
        self.dataset_actions = build_dataset_menu(
            menus.addMenu("&Dataset"),
            self,
            self.dataset_mode,
            open_dataset=self.open_dataset_dialog,
            export_folder=lambda: self.prefs.export_folder or str(Path.home()),
            report=self.presenter.show_error,
            remember_compare=self._remember_compare_model,
            model_folder=lambda: self.prefs.model_folder,
        )
        file_menu.insertAction(self.file_actions.paste, self.dataset_actions.open)
        self.training = TrainingMode(
            self, self.results_stack, self.results, self.settings, self.presenter.show_error
        )
        self.training_actions = build_training_menu(menus.addMenu("&Training"), self, self.training)
        self.model_menu = menus.addMenu("&Model")
        self.models = ModelMenu(self.model_menu, self.studio.model_spec, self.studio.device)
        self.generation = GenerationMenu(menus.addMenu("&Generation"), self, self.settings)
        self.presenter.generation_options = self.generation.options
        self.dataset_mode.generation_options = self.generation.options
        self.live_mode.generation_options = self.generation.options
        self.compare = CompareActions(
            self.model_menu,
            self.models.device_menu.menuAction(),
            self,
            self.job_calls,
            self.side_by_side,
            self.prefs,
            self.settings,
            self.presenter.show_error,
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
            sample=self.studio.sample,
            examples=self.examples,
            adopt=self.inputs.adopt,
            folder=self.inputs.folder,
            report=self.presenter.show_error,
        )
        menu.addSeparator()
        menu.addAction(self.side_by_side.toggle_action)

    def _connect(self) -> None:
        inputs, presenter = self.inputs, self.presenter
        inputs.error_occurred.connect(presenter.show_error)
        inputs.audio_input.clip_changed.connect(
            lambda clip: self.file_actions.save_recording.setEnabled(clip is not None)
        )
        inputs.audio_input.recording_changed.connect(self._on_recording_changed)
        presenter.model_ready.connect(lambda info: self.models.show_loaded(info.source))
        presenter.model_ready.connect(self.model_ready)
        presenter.result_shown.connect(self._on_result_shown)
        presenter.model_ready.connect(self._offer_for_task)
        presenter.generating_changed.connect(self.generation.set_generating)
        self.generation.stop_requested.connect(presenter.stop_generation)
        # New options answer the question on screen again, with them (latest wins).
        self.generation.changed.connect(lambda _settings: presenter.request_analysis())
        presenter.result_cleared.connect(lambda: self.file_actions.export.setEnabled(False))
        self.studio.model_chosen.connect(presenter.load_model)
        self.studio.device_chosen.connect(self._on_device_chosen)
        self.models.model_chosen.connect(self.load_model)
        self.models.open_folder_requested.connect(self.open_model_folder_dialog)
        self.models.device_chosen.connect(self.choose_device)
        self.results.rendered.connect(self.analysis_shown)
        self.service.models_listed.connect(self.models.list_models)
        self.service.models_listed.connect(self.compare.list_models)
        self.service.devices_found.connect(self.models.enable_devices)
        self.live_mode.snapshot.connect(inputs.take_snapshot)
        self.dataset_mode.record_opened.connect(self.open_record)
        self.dataset_mode.record_swap_requested.connect(
            lambda record, modality: self.swaps.swap_record(record, modality, self._dataset_name())
        )
        training = self.training
        training.shown_changed.connect(self._on_training_shown)
        training.open_requested.connect(self.open_checkpoint)
        training.side_by_side_requested.connect(self.open_side_by_side)
        training.dataset_requested.connect(self.compare_on_dataset)

    def _on_first_paint(self) -> None:
        self._started = True
        # Everything slow starts once the window is on screen: torch's import and the model
        # in the worker, the result views, PortAudio's device scan.
        QTimer.singleShot(0, self._start)

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
        self.inputs.start()
        self.results.lay_out_unseen()
        # A comparison a closed window left training in the background shows again.
        self.training.reattach()
        # PortAudio's first device scan takes a moment; let the views paint first.
        QTimer.singleShot(250, self._probe_microphones)

    def _probe_microphones(self) -> None:
        if not self._closing:
            self.inputs.probe_microphones()

    # Live mode

    @property
    def live(self):
        """The live panel (built on first use, see live_mode.py)."""
        return self.live_mode.panel

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
        self.inputs.image_input.last_folder = prefs.image_folder
        self.inputs.audio_input.last_folder = prefs.audio_folder
        self.results.set_colormap(prefs.colormap)
        if prefs.opacity is not None:
            self.results.set_opacity(prefs.opacity)

    def save_settings(self) -> None:
        prefs = self.prefs
        prefs.geometry = self.saveGeometry()
        prefs.window_state = self.saveState()
        prefs.splitters = {"main": self.splitter.saveState(), **self.results.splitter_states()}
        prefs.image_folder = self.inputs.image_input.last_folder
        prefs.audio_folder = self.inputs.audio_input.last_folder
        prefs.colormap = self.results.colormap
        prefs.opacity = self.results.opacity
        prefs.device = self.studio.device
        prefs.write(self.settings)

    # Model

    def load_model(self, spec: str) -> None:
        self.studio.choose_model(spec)

    def load_example(self, example) -> None:
        """An example's inputs, on the model it is about: one naming another model (the
        generative examples) switches to it first, and is analysed once that model is loaded."""
        if example.model and example.model != self.studio.model_spec:
            if self._started:
                self.presenter.hold_until_loaded()
                self.load_model(example.model)
            else:
                # Before the first paint nothing is loaded yet: start with the example's model.
                self.studio.model_spec = example.model
                self.models.show_loaded(example.model)
        self.inputs.load_example(example)

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
        self.dataset_mode.set_shown(False)
        self.inputs.open_record(record, self._dataset_name())

    def _dataset_name(self) -> str:
        return self.dataset_mode.dataset.name if self.dataset_mode.dataset else "the dataset"

    def choose_device(self, device: str) -> None:
        self.studio.choose_device(device)

    def _on_device_chosen(self, device: str) -> None:
        self.prefs.device = device
        self.prefs.write(self.settings)
        for key, action in self.models.device_actions.items():
            action.setChecked(key == device)
        self.presenter.load_model(self.studio.model_spec)

    # Training

    def open_checkpoint(self, folder: str) -> None:
        """A strategy's best checkpoint from the comparison table, in the studio."""
        self.training.set_shown(False)
        self.dataset_mode.set_shown(False)
        self.load_model(folder)
        self.statusBar().showMessage(f"Opening {folder}", 5000)

    def open_side_by_side(self, first: str, second: str) -> None:
        self.open_checkpoint(first)
        self.compare.choose(second)

    def compare_on_dataset(self, first: str, second: str, test_split: str) -> None:
        """Both strategies over the test split, in the Dataset view."""
        self.training.set_shown(False)
        self.dataset_mode.compare_model = second
        self._remember_compare_model(second)
        if self.studio.model_spec == first:
            self.open_dataset(test_split)
            return

        # Loading a model cancels every job, so the analysis starts once ``first`` is in.
        def loaded(info) -> None:
            self.model_ready.disconnect(loaded)
            if Path(str(info.source)) == Path(first):
                self.open_dataset(test_split)

        self.model_ready.connect(loaded)
        self.load_model(first)

    def _on_training_shown(self, shown: bool) -> None:
        if shown and self.dataset_actions.show.isChecked():
            # The training page took the Dataset page's place: only the check mark goes.
            blocked = self.dataset_actions.show.blockSignals(True)
            self.dataset_actions.show.setChecked(False)
            self.dataset_actions.show.blockSignals(blocked)

    # Wiring

    def _on_recording_changed(self, recording: bool) -> None:
        self.file_actions.record.setText("Stop &Recording" if recording else "&Record")

    def _on_result_shown(self, analysis, sample) -> None:
        self.file_actions.export.setEnabled(True)
        info = self.presenter.model_info
        if info is not None and not info.generates:
            self.compare.on_result(analysis, sample, info.name, info.source)

    def _offer_for_task(self, info) -> None:
        """Comparisons and swaps explain classifiers' predictions: off (and saying why) while a
        generative model is loaded, back with a classifier. Live mode takes both: a generative
        model answers the typed question about the camera and the microphone."""
        classifier = not info.generates
        actions = (self.compare.menu.menuAction(), self.swaps.swap_menu.menuAction())
        if not self._classifier_tips:
            self._classifier_tips = {a: (a.toolTip(), a.statusTip()) for a in actions}
        for action in actions:
            tool_tip, status_tip = self._classifier_tips[action]
            action.setEnabled(classifier)
            action.setStatusTip(status_tip if classifier else GENERATIVE_OFF)
            action.setToolTip(tool_tip if classifier else GENERATIVE_OFF)
        if not classifier:
            self.swaps.keep_action.setEnabled(False)
            self.swaps.undo_action.setEnabled(False)
            if self.compare.spec:
                self.statusBar().showMessage(
                    f"{GENERATIVE_OFF[:1].upper()}{GENERATIVE_OFF[1:]}", 10000
                )

    def dragEnterEvent(self, event) -> None:
        if self.inputs.can_accept(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        event.acceptProposedAction()
        self.inputs.accept_payload(event.mimeData(), "the drop")

    # Export, about

    def export_dialog(self) -> None:
        if self.results.analysis is None:
            self.presenter.show_error("there is no analysis to export yet")
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
            self.presenter.show_error(f"the analysis could not be exported: {error}")
            return None
        self.prefs.export_folder = str(png.parent)
        self.statusBar().showMessage(f"Exported {png.name} and {data.name}", 5000)
        return png, data

    def show_about(self) -> None:
        info = self.presenter.model_info
        device = info.device if info else ""
        model = info.name if info else ""
        QMessageBox.about(self, "About mmstudio", about_html(device, model))

    # Closing

    def closeEvent(self, event) -> None:
        if not self._closing and not self.training.may_close():
            event.ignore()
            return
        if not self._closing:
            self._closing = True
            self.save_settings()
            self.inputs.shutdown()
            self.live_mode.shutdown()
            # Gone from the screen at once; the worker may still be finishing one step.
            self.hide()
            self.service.shutdown()
        event.accept()


class _FirstPaint(QObject):
    """Calls ``then`` once, when ``window`` is first painted, and stops watching it."""

    def __init__(self, window: QWidget, then) -> None:
        super().__init__(window)
        self._then = then
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            self._then()
        return False
