"""The Generation menu: how a generative model decodes (Options…, remembered in the settings)
and Stop (Esc) while it answers."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QMenu,
    QSpinBox,
    QWidget,
)

from mmstudio.gui.common.settings import GenerationSettings
from mmstudio.models.generative.options import MAX_NEW_TOKENS_LIMIT

# The map method choices, as the dialog names them ("" is each modality's measured default).
MAP_METHOD_LABELS = {
    "": "Each modality's default (attention where it can be placed)",
    "attention": "Attention, for every modality",
    "occlusion": "Occlusion, for every modality",
}


class GenerationDialog(QDialog):
    """The decoding options as a form; ``chosen()`` reads them back."""

    def __init__(self, current: GenerationSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Generation Options")
        self.setObjectName("generationDialog")
        self.max_new_tokens = QSpinBox()
        self.max_new_tokens.setRange(1, MAX_NEW_TOKENS_LIMIT)
        self.max_new_tokens.setValue(current.max_new_tokens)
        self.sampling = QCheckBox("Sample (otherwise greedy: the most likely token each step)")
        self.sampling.setChecked(current.do_sample)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.01, 5.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(current.temperature)
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.01, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(current.top_p)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(current.seed)
        self.contrastive = QCheckBox("Also answer without each modality (contrastive answers)")
        self.contrastive.setChecked(current.contrastive)
        self.contrastive.setToolTip(
            "One more generation per modality present: slower, shown beside the answer"
        )
        self.map_method = QComboBox()
        for method, label in MAP_METHOD_LABELS.items():
            self.map_method.addItem(label, method)
        self.map_method.setCurrentIndex(max(0, self.map_method.findData(current.map_method)))
        self.map_method.setToolTip(
            "Attention: one extra pass, where each token looked. Occlusion: the drop in each "
            "token's probability when a part is masked, one pass per part (slower)."
        )
        form = QFormLayout(self)
        form.addRow("Max new tokens", self.max_new_tokens)
        form.addRow(self.sampling)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Seed", self.seed)
        form.addRow(self.contrastive)
        form.addRow("Maps", self.map_method)
        note = QLabel("Temperature, top-p and seed apply when sampling.")
        note.setStyleSheet("color: palette(placeholder-text);")
        form.addRow(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.sampling.toggled.connect(self._enable_sampling)
        self._enable_sampling(current.do_sample)

    def _enable_sampling(self, on: bool) -> None:
        for box in (self.temperature, self.top_p, self.seed):
            box.setEnabled(on)

    def chosen(self) -> GenerationSettings:
        return GenerationSettings(
            max_new_tokens=self.max_new_tokens.value(),
            do_sample=self.sampling.isChecked(),
            temperature=round(self.temperature.value(), 4),
            top_p=round(self.top_p.value(), 4),
            seed=self.seed.value(),
            contrastive=self.contrastive.isChecked(),
            map_method=self.map_method.currentData(),
        )


class GenerationMenu(QObject):
    """Signals: changed(GenerationSettings) once new options are chosen and saved;
    stop_requested()."""

    changed = Signal(object)
    stop_requested = Signal()

    def __init__(self, menu: QMenu, window: QWidget, store: QSettings) -> None:
        super().__init__(window)
        self.window = window
        self.store = store
        self.settings = GenerationSettings.read(store)
        self.options_action = menu.addAction("&Options…")
        self.options_action.setStatusTip("Decoding of generative models: greedy or sampling")
        self.options_action.triggered.connect(lambda _checked=False: self.open_dialog())
        self.stop_action = QAction("&Stop Generating", window)
        self.stop_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.stop_action.setStatusTip("Stop the answer at its next token (Esc)")
        # Enabled only while an answer is generated, so Esc is free otherwise (the answer view
        # uses it to go back to the whole answer, dialogs to close).
        self.stop_action.setEnabled(False)
        self.stop_action.triggered.connect(lambda _checked=False: self.stop_requested.emit())
        menu.addAction(self.stop_action)

    def options(self):
        """The GenerationOptions the next request uses."""
        return self.settings.options()

    def set_generating(self, generating: bool) -> None:
        self.stop_action.setEnabled(generating)

    def open_dialog(self) -> None:
        dialog = GenerationDialog(self.settings, self.window)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.choose(dialog.chosen())

    def choose(self, settings: GenerationSettings) -> None:
        """Use (and remember) ``settings``; InputError, with nothing changed, when out of range."""
        settings.options()  # raises before anything is kept
        self.settings = replace(settings)
        self.settings.write(self.store)
        self.changed.emit(self.settings)
