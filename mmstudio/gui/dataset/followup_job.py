"""The follow-up checks of a finished dataset analysis (swap test, faithfulness of the heatmaps)
run in the window's analysis service's background lane, like the analysis itself.

A step is a few swaps or one record's deletion curve of one modality, so a click on a row is
answered between two steps. Signals: ``progressed(FollowUpProgress)``, ``finished(dict)`` with
the summary sections (``swap_test``, ``faithfulness``), ``cancelled()`` and ``failed(str)``;
``cancel()`` stops before the next step.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from mmstudio.datasets import faithfulness_summary, swap_test
from mmstudio.datasets.followup import followup_steps
from mmstudio.gui.service import AnalysisService

# Swaps per step: an interactive request waits for the step in progress. Eight swaps are one
# batch of eight analyses and sixteen records opened: some 20 ms on 2 CPU cores, as long as
# one record's deletion curve, the other kind of step.
SWAPS_PER_STEP = 8


class ServiceFollowUpJob(QObject):
    progressed = Signal(object)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(str)

    def __init__(
        self,
        service: AnalysisService,
        results: str | Path,
        *,
        swap_records: int = swap_test.DEFAULT_RECORDS,
        faithfulness_records: int = faithfulness_summary.DEFAULT_RECORDS,
        seed: int = 0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.results = Path(results)
        self.options = {
            "swap_records": swap_records,
            "faithfulness_records": faithfulness_records,
            "seed": seed,
            "swap_batch_size": SWAPS_PER_STEP,
        }
        self.sections: dict | None = None
        self.last = None
        self.done = False
        service.job_progress.connect(self._on_progress)
        service.job_returned.connect(self._on_returned)
        service.job_failed.connect(self._on_failed)
        service.job_cancelled.connect(self._on_cancelled)
        self.job_id = service.submit_job(self._steps, name="swap test and faithfulness")

    def cancel(self) -> None:
        self.service.cancel_job(self.job_id)

    def _steps(self, analyzer):
        """Runs in the worker thread, with the window's model."""
        return followup_steps(analyzer, self.results, **self.options)

    def _mine(self, job_id: int) -> bool:
        return job_id == self.job_id and not self.done

    def _on_progress(self, job_id: int, progress) -> None:
        if self._mine(job_id):
            self.last = progress
            self.progressed.emit(progress)

    def _on_returned(self, job_id: int, sections) -> None:
        if self._mine(job_id):
            self.done = True
            self.sections = sections
            self.finished.emit(sections)

    def _on_failed(self, job_id: int, message: str) -> None:
        if self._mine(job_id):
            self.done = True
            self.failed.emit(message)

    def _on_cancelled(self, job_id: int) -> None:
        if self._mine(job_id):
            self.done = True
            self.cancelled.emit()
