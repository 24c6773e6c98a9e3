"""A dataset analysis on a thread of its own, for testing the Dataset view without a window
(the window runs it in its analysis service: mmstudio/gui/dataset/service_job.py).

The Dataset view needs only this much of a job: the signals ``progressed(Progress)``,
``finished(Progress)`` and ``failed(str)``, a ``cancel()`` method, and the ``results`` folder.
:class:`DatasetJob` provides them with superqt's generator worker, one engine step (one batch)
per yield; the studio's analysis service can drive the same engine generator in its background
lane instead and hand the view any object with the same signals.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker, create_worker

from mmstudio.datasets.engine import LocalAnalysis


class DatasetJob(QObject):
    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(
        self, make_analysis: Callable[[], LocalAnalysis], results: str | Path, parent=None
    ):
        """``make_analysis`` builds the engine (loading the model) in the worker thread."""
        super().__init__(parent)
        self.results = Path(results)
        self._make_analysis = make_analysis
        self._analysis: LocalAnalysis | None = None
        self._cancel_requested = False
        self._worker: GeneratorWorker | None = None
        self._last = None

    def start(self) -> None:
        self._worker = create_worker(self._steps, _start_thread=False)
        self._worker.yielded.connect(self._on_step)
        self._worker.errored.connect(lambda error: self.failed.emit(str(error)))
        self._worker.returned.connect(lambda _: self.finished.emit(self._last))
        self._worker.start()

    def _steps(self):
        self._analysis = self._make_analysis()
        if self._cancel_requested:
            self._analysis.cancel()
        yield from self._analysis.steps()

    def _on_step(self, progress) -> None:
        self._last = progress
        self.progressed.emit(progress)

    def cancel(self) -> None:
        """Stop after the batch in progress; the rows finished so far stay in ``results``."""
        self._cancel_requested = True
        if self._analysis is not None:
            self._analysis.cancel()

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_running
