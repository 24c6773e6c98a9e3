"""The Dataset view: results table, summary, confusion matrix and embedding map of a dataset
analysis (mmstudio.datasets), over a results folder or a running job."""

from mmstudio.gui.dataset.view import DatasetView

__all__ = ["DatasetView"]
