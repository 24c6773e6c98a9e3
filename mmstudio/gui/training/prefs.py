"""What Training ▸ New Training Run… remembers between sessions (QSettings, under training/),
and the comparison a window left training in the background (training/active), which the next
window reattaches to."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from mmstudio.gui.common.settings import read_float, read_int, read_text
from mmstudio.models.config import FUSION_STRATEGIES
from mmstudio.studio_runs import TrainingSettings
from mmstudio.studio_runs.launch import DEVICES

ACTIVE = "training/active"
# The driver's process id as the window started it: driver.json may not be written yet when the
# window closes right after starting a comparison.
ACTIVE_PID = "training/active_pid"


def read_training_settings(store: QSettings) -> TrainingSettings:
    default = TrainingSettings()
    fusions = [
        name
        for name in read_text(store, "training/fusions", ",".join(default.fusions)).split(",")
        if name in FUSION_STRATEGIES
    ]
    device = read_text(store, "training/device", default.device)
    dropout = read_float(store, "training/modality_dropout", default.modality_dropout)
    return TrainingSettings(
        data=read_text(store, "training/data", ""),
        out=read_text(store, "training/out", ""),
        fusions=fusions or default.fusions,
        seeds=max(1, read_int(store, "training/seeds", default.seeds)),
        epochs=max(1, read_int(store, "training/epochs", default.epochs)),
        batch_size=max(1, read_int(store, "training/batch_size", default.batch_size)),
        modality_dropout=dropout if 0 <= dropout < 1 else default.modality_dropout,
        device=device if device in DEVICES else default.device,
        model_settings=read_text(store, "training/model_settings", "").split(),
    )


def write_training_settings(store: QSettings, settings: TrainingSettings) -> None:
    store.setValue("training/data", settings.data)
    store.setValue("training/out", settings.out)
    store.setValue("training/fusions", ",".join(settings.fusions))
    store.setValue("training/seeds", settings.seeds)
    store.setValue("training/epochs", settings.epochs)
    store.setValue("training/batch_size", settings.batch_size)
    store.setValue("training/modality_dropout", settings.modality_dropout)
    store.setValue("training/device", settings.device)
    store.setValue("training/model_settings", " ".join(settings.model_settings))
    store.sync()


def read_active(store: QSettings) -> tuple[str, int | None]:
    pid = read_int(store, ACTIVE_PID, 0)
    return read_text(store, ACTIVE, ""), pid if pid > 0 else None


def write_active(store: QSettings, folder: str, pid: int | None = None) -> None:
    store.setValue(ACTIVE, folder)
    store.setValue(ACTIVE_PID, pid or 0)
    store.sync()
