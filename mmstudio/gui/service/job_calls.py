"""Background jobs with callbacks of their own: a feature submits a job and hears only about
that job, however many others (a dataset analysis, another feature's) share the lane."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject

from .service import AnalysisService


def one_step(work: Callable[[Any], Any]) -> Callable[[Any], Iterator[Any]]:
    """A job of a single step: ``work(analyzer)``, run in the worker thread, is its result."""

    def start(analyzer) -> Iterator[Any]:
        yield from ()  # a generator, so that ``work`` runs at the first step, not at submission
        return work(analyzer)

    return start


class JobCalls(QObject):
    """``submit`` a job with ``on_returned(value)`` and ``on_failed(message)``; a cancelled
    job calls neither."""

    def __init__(self, service: AnalysisService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[str], None]]] = {}
        service.job_returned.connect(self._on_returned)
        service.job_failed.connect(self._on_failed)
        service.job_finished.connect(self._callbacks_done)

    def submit(
        self,
        start: Callable[[Any], Iterator[Any]],
        name: str,
        on_returned: Callable[[Any], None],
        on_failed: Callable[[str], None],
    ) -> int:
        # Ahead of any batch job: this is about the sample on screen.
        job_id = self.service.submit_job(start, name, front=True)
        self._callbacks[job_id] = (on_returned, on_failed)
        return job_id

    def cancel(self, job_id: int | None) -> None:
        if job_id is not None and self._callbacks.pop(job_id, None) is not None:
            self.service.cancel_job(job_id)

    def pending(self, job_id: int | None) -> bool:
        return job_id in self._callbacks

    def _on_returned(self, job_id: int, value) -> None:
        callbacks = self._callbacks.pop(job_id, None)
        if callbacks is not None:
            callbacks[0](value)

    def _on_failed(self, job_id: int, message: str) -> None:
        callbacks = self._callbacks.pop(job_id, None)
        if callbacks is not None:
            callbacks[1](message)

    def _callbacks_done(self, job_id: int) -> None:
        self._callbacks.pop(job_id, None)
