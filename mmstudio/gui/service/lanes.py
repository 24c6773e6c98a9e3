"""Where work waits for the analysis thread: one lane per kind of work, one lock for all.

- control: the newest model load (a newer one replaces it);
- interactive: the newest analysis request (latest wins);
- live: the newest live frame (newest wins; see :class:`LatestSlot`);
- background: batch jobs, one step at a time, first in first out.

:meth:`Lanes.next_work` hands the worker the most urgent item, in that order. A background
job runs one step and goes back to the head of its lane, so an interactive request or a live
frame that arrived meanwhile runs before the job's next step. No Qt here: the worker thread
blocks on a condition variable, so nothing piles up in an event queue however slow the model.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .latest import LatestSlot


@dataclass(frozen=True)
class LoadRequest:
    request_id: int
    spec: str
    device: str | None


@dataclass(frozen=True)
class AnalysisRequest:
    request_id: int
    sample: Any
    # A generative model's decoding options (GenerationOptions); None for a classifier.
    options: Any = None


@dataclass
class Job:
    """A background job: ``start(analyzer)`` returns the iterator whose every step the worker
    runs between interactive requests. See :class:`~mmstudio.gui.service.AnalysisService`."""

    job_id: int
    start: Callable[[Any], Iterator[Any]]
    name: str = ""
    steps: Iterator[Any] | None = None
    cancelled: bool = False
    steps_done: int = 0


@dataclass
class Lanes:
    latest_analysis_id: int = 0
    latest_load_id: int = 0
    stopping: bool = False
    live: LatestSlot = field(default_factory=LatestSlot)
    _load: LoadRequest | None = None
    _interactive: AnalysisRequest | None = None
    _jobs: deque[Job] = field(default_factory=deque)
    _condition: threading.Condition = field(default_factory=threading.Condition)

    # ---- producers (the GUI thread) ------------------------------------------------------------

    def put_load(self, request: LoadRequest) -> None:
        with self._condition:
            self.latest_load_id = request.request_id
            self._load = request
            self._condition.notify()

    def put_analysis(self, request: AnalysisRequest) -> None:
        with self._condition:
            self.latest_analysis_id = request.request_id
            self._interactive = request
            self._condition.notify()

    def cancel_analysis(self, newer_id: int) -> None:
        """Drop the waiting request, and make a running one's result stale."""
        with self._condition:
            self.latest_analysis_id = newer_id
            self._interactive = None

    def put_live(self, task: Any) -> bool:
        """True when the lane was empty (the frame did not replace a waiting one)."""
        with self._condition:
            was_empty = self.live.put(task)
            self._condition.notify()
            return was_empty

    def clear_live(self) -> None:
        self.live.take()

    def put_job(self, job: Job, *, front: bool = False) -> None:
        """``front``: ahead of the queued jobs (work about the sample on screen, which must not
        wait for a whole dataset); the job it overtakes resumes at its next step after."""
        with self._condition:
            if front:
                self._jobs.appendleft(job)
            else:
                self._jobs.append(job)
            self._condition.notify()

    def cancel_job(self, job_id: int) -> bool:
        with self._condition:
            for job in self._jobs:
                if job.job_id == job_id:
                    job.cancelled = True
                    self._condition.notify()
                    return True
            return False

    def cancel_all_jobs(self) -> list[Job]:
        with self._condition:
            for job in self._jobs:
                job.cancelled = True
            self._condition.notify()
            return list(self._jobs)

    def stop(self) -> None:
        with self._condition:
            self.stopping = True
            self._condition.notify_all()

    # ---- the consumer (the worker thread) ------------------------------------------------------

    def next_work(self) -> LoadRequest | AnalysisRequest | Job | tuple[str, Any] | None:
        """Block until there is work; None once stopping. Live tasks come as ("live", task)."""
        with self._condition:
            while True:
                if self.stopping:
                    return None
                if self._load is not None:
                    work, self._load = self._load, None
                    return work
                if self._interactive is not None:
                    work, self._interactive = self._interactive, None
                    return work
                task = self.live.take()
                if task is not None:
                    return ("live", task)
                if self._jobs:
                    # Stays queued while its step runs; finish_job or requeue decide after it.
                    return self._jobs[0]
                self._condition.wait()

    def finish_job(self, job: Job) -> None:
        with self._condition:
            if job in self._jobs:
                self._jobs.remove(job)
