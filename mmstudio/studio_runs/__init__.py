"""Comparisons the window (or a benchmark) starts and watches from outside the training
process: the settings and command (launch), the incremental reader of the comparison folder
(reader), the per-step mean and bands over seeds (bands). No Qt here."""

from mmstudio.studio_runs.bands import Band, band, confidence_halfwidth, t_quantile
from mmstudio.studio_runs.launch import TrainingSettings, check_dataset, request_stop
from mmstudio.studio_runs.reader import (
    LOSS,
    SUBSET_PREFIX,
    VAL_ACCURACY,
    ComparisonProgress,
    ComparisonReader,
    RunStatus,
)
from mmstudio.training.comparison.processes import pid_alive

__all__ = [
    "LOSS",
    "SUBSET_PREFIX",
    "VAL_ACCURACY",
    "Band",
    "ComparisonProgress",
    "ComparisonReader",
    "RunStatus",
    "TrainingSettings",
    "band",
    "check_dataset",
    "confidence_halfwidth",
    "pid_alive",
    "request_stop",
    "t_quantile",
]
