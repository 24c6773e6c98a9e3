"""Training ▸ New Training Run…: the dataset, the strategies, the seeds, the budget, modality
dropout, the device and the output folder of a comparison, checked before the dialog closes
(the dataset with the messages `mmstudio analyze` gives), so a mistake is said here and not
minutes later in a training process."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from mmstudio.inputs.errors import InputError
from mmstudio.models.config import FUSION_STRATEGIES
from mmstudio.studio_runs import TrainingSettings
from mmstudio.studio_runs.launch import DEVICES

MAX_SEEDS = 20
MAX_EPOCHS = 1000
MAX_BATCH = 4096


class NewTrainingDialog(QDialog):
    """``chosen()`` is the checked settings once the dialog was accepted."""

    def __init__(self, current: TrainingSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Training Run")
        self.setObjectName("newTrainingDialog")
        self.setMinimumWidth(560)
        self.data = QLineEdit(current.data)
        self.data.setPlaceholderText("a folder with manifest.jsonl or manifest.csv")
        self.out = QLineEdit(current.out)
        self.out.setPlaceholderText("a new or empty folder for the runs and the report")
        self.strategies = {name: QCheckBox(name) for name in FUSION_STRATEGIES}
        for name, box in self.strategies.items():
            box.setChecked(name in current.fusions)
        self.seeds = _spin(1, MAX_SEEDS, current.seeds)
        self.seeds.setToolTip("Each strategy trains once per seed (0, 1, …): the bands need 2+")
        self.epochs = _spin(1, MAX_EPOCHS, current.epochs)
        self.epochs.setToolTip(
            "The same number of optimiser steps for every strategy; early stopping may end "
            "a run sooner, never later"
        )
        self.batch_size = _spin(1, MAX_BATCH, current.batch_size)
        self.batch_size.setToolTip("Records per optimiser step, the same for every strategy")
        self.dropout = QDoubleSpinBox()
        self.dropout.setRange(0.0, 0.95)
        self.dropout.setSingleStep(0.05)
        self.dropout.setValue(current.modality_dropout)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentIndex(max(0, self.device.findText(current.device)))
        self.model_settings = QLineEdit(" ".join(current.model_settings))
        self.model_settings.setPlaceholderText("optional, e.g. dim=64 text_layers=2")
        self.resume = QCheckBox("Resume the comparison in the output folder")
        self.error = QLabel()
        self.error.setObjectName("trainingDialogError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d0453a;")
        self.error.hide()
        form = QFormLayout(self)
        form.addRow("Dataset", self._with_browse(self.data, "Training Dataset"))
        strategies = QHBoxLayout()
        for box in self.strategies.values():
            strategies.addWidget(box)
        strategies.addStretch(1)
        form.addRow("Strategies", strategies)
        form.addRow("Seeds", self.seeds)
        form.addRow("Budget (epochs)", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Modality dropout", self.dropout)
        form.addRow("Device", self.device)
        form.addRow("Model settings", self.model_settings)
        form.addRow("Output folder", self._with_browse(self.out, "Comparison Folder"))
        form.addRow(self.resume)
        form.addRow(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start Training")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.data.editingFinished.connect(self._suggest_output)
        self._chosen: TrainingSettings | None = None

    def _with_browse(self, line: QLineEdit, title: str) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(line, 1)
        button = QPushButton("Browse…")
        button.clicked.connect(lambda _checked=False: self._browse(line, title))
        row.addWidget(button)
        return row

    def _browse(self, line: QLineEdit, title: str) -> None:
        start = line.text() or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, title, start)
        if folder:
            line.setText(folder)
            self._suggest_output()

    def _suggest_output(self) -> None:
        """A fresh folder beside the dataset when none is given (or the last one was used)."""
        data = self.data.text().strip()
        if data and not self.out.text().strip():
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self.out.setText(str(Path(data).parent / f"{Path(data).name}-comparison-{stamp}"))

    def settings(self) -> TrainingSettings:
        return TrainingSettings(
            data=self.data.text().strip(),
            out=self.out.text().strip(),
            fusions=[name for name, box in self.strategies.items() if box.isChecked()],
            seeds=self.seeds.value(),
            epochs=self.epochs.value(),
            batch_size=self.batch_size.value(),
            modality_dropout=round(self.dropout.value(), 4),
            device=self.device.currentText(),
            model_settings=self.model_settings.text().split(),
            resume=self.resume.isChecked(),
        )

    def accept(self) -> None:
        settings = self.settings()
        try:
            settings.check()
        except InputError as error:
            self.error.setText(str(error))
            self.error.show()
            return
        self._chosen = settings
        super().accept()

    def chosen(self) -> TrainingSettings | None:
        return self._chosen


def _spin(low: int, high: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(min(max(value, low), high))
    return box
