"""The analysis service: one per window, one worker thread, one model on one device.

Every piece of model work of a window goes through here, in three lanes (see ``lanes.py``):

- **interactive** — :meth:`AnalysisService.request_analysis`: the latest request wins. Each
  request carries an increasing id; a queued request replaced by a newer one never runs. The
  one already running is finished and reported (the window shows it only if it is newer than
  what is on screen), so a steady stream of requests still shows fresh results. A generative
  model's answer is the exception: a newer request stops it at its next token (Stop does too,
  :meth:`AnalysisService.stop_generation`), and a generation stopped by a newer request reports
  nothing. Its tokens come as ``token_streamed`` while it runs (see ``token_stream.py``).
- **live** — :meth:`AnalysisService.submit_live`: the newest frame wins. A live task is any
  object with ``run(analyzer) -> result``; it runs in the worker thread and its result comes
  back as ``live_result``. While the model is busy each new task replaces the waiting one, so
  the next analysis is always of the newest frame.
- **background** — :meth:`AnalysisService.submit_job`: batch jobs such as a dataset analysis,
  run one step at a time. Between two steps the worker answers any interactive request or live
  frame that arrived, so clicking a sample while a dataset runs answers at interactive speed.

Model loading (:meth:`load_model`), device changes (a load with another device), falling back
to the CPU when an accelerator runs out of memory, and turning exceptions into messages are
handled once, here, for all three lanes.

The background lane
-------------------
A job is a callable ``start(analyzer) -> iterator`` (usually a generator function)::

    def analyse_dataset(analyzer):            # runs in the worker thread
        rows = []
        for batch in batches_of_records:      # one step = one batch
            rows += analyzer.analyze_batch(batch)
            yield len(rows) / total           # -> job_progress(job_id, value)
        return table_of(rows)                 # -> job_returned(job_id, value)

    job_id = service.submit_job(analyse_dataset, name="dataset")
    service.job_progress.connect(...)         # (job_id, whatever the step yielded)
    service.job_returned.connect(...)         # (job_id, the generator's return value)
    service.job_failed.connect(...)           # (job_id, a message a person can act on)
    service.job_cancelled.connect(...)        # (job_id) after cancel_job or a model change
    service.job_finished.connect(...)         # (job_id) always last, whatever the outcome
    service.cancel_job(job_id)                # stops before the next step; True if known

- ``start`` is called in the worker thread with the loaded :class:`mmstudio.analysis.Analyzer`
  when the job's first step is due; every ``next()`` on the iterator is one step and runs in
  the worker thread. Keep a step to one batch (tens to hundreds of milliseconds): an
  interactive request waits at most for the step that is running.
- What a step yields (progress, a chunk of result rows, anything picklable or not: it is
  passed by reference) is delivered in the GUI thread by ``job_progress``.
- An exception in a step ends the job with ``job_failed``; ``cancel_job`` closes the iterator
  (its ``finally`` blocks run) between steps. Loading another model cancels every job, since
  its results would mix two models. Jobs run one after the other, in submission order.

Signals (all delivered in the GUI thread):
    started(id): the worker began this analysis.
    result(id, Analysis): an analysis that ran.
    error(id, message): a user-readable message, for an analysis or a model load.
    progress(id, message, fraction): model loading stages, fraction in [0, 1].
    model_loaded(id, ModelInfo): the new model replaced the previous one (also after an
        out-of-memory move to the CPU, with the id of the newest load).
    model_unavailable(id, ModelEntry): a registered model whose weights are missing.
    models_listed(list[ModelEntry]): the registry's models, reported with the first load.
    devices_found(list[str]): devices torch can use, reported once torch is imported.
    device_fallback(message): the model moved to the CPU after running out of memory.
    live_result(result), live_failed(message): a live task's outcome.
    job_progress / job_returned / job_failed / job_cancelled / job_finished: see above.

The worker is superqt's :class:`~superqt.utils.GeneratorWorker`: its generator is the worker
loop, each event it yields arrives here through ``yielded``, and ``errored`` reports a loop
that broke. It runs inside a dedicated :class:`WorkerThread` (not the shared thread pool) for
the whole life of the window. The thread starts with the first piece of work (a window posts
its first load after its first paint), and superqt is imported then, not before the window is
shown: it costs a third of a second of CPU (it imports every widget it has). The GUI thread
imports it while the worker thread imports torch: superqt and pyqtgraph walk PySide's modules
on import, which crashes when two threads do it at once, so it is never imported in the worker.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from mmstudio.models import registry

from .lanes import AnalysisRequest, Job, Lanes, LoadRequest
from .model_host import ModelHost, ModelInfo, describe_error, is_out_of_memory
from .token_stream import TokenStream

log = logging.getLogger(__name__)

_NO_MODEL = "no model is loaded yet; choose one in the Model menu"
# Streamed tokens reach the window at most this often: nobody reads faster, and each delivery
# redraws the answer in the GUI thread, whose Python competes with the generation's for the GIL.
STREAM_INTERVAL_MS = 50
_MODEL_CHANGED = "the model changed"


class WorkerThread(QThread):
    """Runs the service's worker loop as one Python call for the thread's whole life.

    With a plain QThread, PySide gives each slot call a fresh Python thread state. torch
    (through pybind11) remembers the thread state it first saw in a thread and, in a later
    call, tries to take the GIL again with that stale state while already holding it: a silent
    deadlock. One long Python frame keeps one thread state for the thread's whole life.
    """

    def __init__(self, service: AnalysisService) -> None:
        super().__init__()
        self._service = service

    def run(self) -> None:
        service = self._service
        try:
            service.host.import_torch()  # seconds: started at once, while the GUI thread goes on
        except Exception:  # noqa: S110 - the first load imports it again and reports why
            pass
        service.superqt_imported.wait()
        worker = _service_worker(service._serve)
        # Queued to the service, which lives in the GUI thread.
        worker.yielded.connect(service._on_event)
        worker.errored.connect(service._on_worker_crashed)
        worker.run()


def _service_worker(loop: Callable[[], Iterator[tuple[str, tuple]]]):
    from superqt.utils import GeneratorWorker  # imported by the GUI thread already

    class ServiceWorker(GeneratorWorker):
        """superqt's generator worker without its warning capture.

        ``WorkerBase.run`` sends every warning to ``warned`` under an "always" filter while the
        work runs, which changes the process-wide warning filters; for a worker that lives as
        long as the window, every warning of the application would then be swallowed.
        """

        def run(self) -> None:
            self.started.emit()
            try:
                result = self.work()
                if isinstance(result, Exception):
                    raise result
                self.returned.emit(result)
            except Exception as error:
                self.errored.emit(error)
            self.finished.emit()

    return ServiceWorker(loop)


class AnalysisService(QObject):
    started = Signal(int)
    result = Signal(int, object)
    error = Signal(int, str)
    progress = Signal(int, str, float)
    model_loaded = Signal(int, object)
    model_unavailable = Signal(int, object)
    models_listed = Signal(object)
    devices_found = Signal(object)
    device_fallback = Signal(str)
    live_result = Signal(object)
    live_failed = Signal(str)
    job_progress = Signal(int, object)
    job_returned = Signal(int, object)
    job_failed = Signal(int, str)
    job_cancelled = Signal(int)
    job_finished = Signal(int)
    # A generative model's answer so far: request id, the last token's index, and
    # StreamedTokens (every token so far, as it reads). Tokens of one request come in index
    # order, all before its result.
    token_streamed = Signal(int, int, object)
    # Posted by the worker thread for a token delivery (see TokenStream): at most one queued.
    _tokens_posted = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._job_ids = itertools.count(1)
        self.lanes = Lanes()
        self.host = ModelHost()
        # Counted in the worker thread: how much work ran, for tests and benchmarks.
        self.analyses_run = 0
        self.live_runs = 0
        self.live_discarded = 0  # live tasks taken while no model was loaded
        self.job_steps_run = 0
        self.model_info: ModelInfo | None = None  # the loaded model, as the GUI thread knows it
        self._models_reported = False
        self._devices_reported = False
        self.superqt_imported = threading.Event()
        self.tokens = TokenStream()
        # Generations of requests up to this id stop at their next token (Stop, Esc).
        self._stop_up_to = 0
        self.generations_stopped = 0  # counted in the worker thread, for tests
        self._tokens_posted.connect(self._on_tokens_posted, Qt.ConnectionType.QueuedConnection)
        self._stream_timer = QTimer(self)
        self._stream_timer.setSingleShot(True)
        self._stream_timer.setInterval(STREAM_INTERVAL_MS)
        self._stream_timer.timeout.connect(self._deliver_tokens)
        self._thread = WorkerThread(self)
        self._thread.setObjectName("mmstudio-analysis")

    # ---- the GUI thread's API ------------------------------------------------------------------

    @property
    def latest_analysis_id(self) -> int:
        return self.lanes.latest_analysis_id

    @property
    def latest_load_id(self) -> int:
        return self.lanes.latest_load_id

    @property
    def analyzer(self):
        """The loaded Analyzer (owned by the worker thread: read it, do not run it here)."""
        return self.host.analyzer

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def _post(self) -> None:
        """Start the worker thread with the first piece of work: a window posts its first load
        after its first paint, so nothing competes with showing it."""
        if self._thread.isRunning() or self.lanes.stopping:
            return
        # Where the OS honours it, the GUI thread wins when both want the CPU.
        self._thread.start(QThread.Priority.LowPriority)
        import superqt.utils  # noqa: F401 - in this thread only, see the module's docstring

        self.superqt_imported.set()

    def load_model(self, spec: str, device: str | None = None) -> int:
        """Load ``spec`` (a registered name or a folder) on ``device``; the current model stays
        in use until the new one is ready. Also how the device is changed."""
        request_id = next(self._ids)
        self.lanes.put_load(LoadRequest(request_id, str(spec), device))
        self._post()
        return request_id

    def request_analysis(self, sample, options=None) -> int:
        """Analyse ``sample``; ``options`` (GenerationOptions) are a generative model's
        decoding options. A newer request stops a running generation at its next token."""
        request_id = next(self._ids)
        self.lanes.put_analysis(AnalysisRequest(request_id, sample, options))
        self._post()
        return request_id

    def stop_generation(self) -> None:
        """Stop the running generation at its next token (Stop, Esc): its answer so far comes
        as its result, ``finished == "stopped"``. Later requests generate as usual."""
        self._stop_up_to = self.lanes.latest_analysis_id

    def cancel_pending(self) -> None:
        """Drop every queued analysis, and the result of a running one (the inputs went empty)."""
        self.lanes.cancel_analysis(next(self._ids))

    def submit_live(self, task) -> bool:
        """Queue a live task (``task.run(analyzer)``), replacing a waiting one. True when none
        was waiting."""
        waiting = self.lanes.put_live(task)
        self._post()
        return waiting

    def clear_live(self) -> None:
        self.lanes.clear_live()

    def submit_job(
        self, start: Callable[[Any], Iterator[Any]], name: str = "", *, front: bool = False
    ) -> int:
        """``front`` puts the job ahead of those queued (see :meth:`Lanes.put_job`)."""
        job_id = next(self._job_ids)
        self.lanes.put_job(Job(job_id, start, name), front=front)
        self._post()
        return job_id

    def cancel_job(self, job_id: int) -> bool:
        return self.lanes.cancel_job(job_id)

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Stop the thread; queued work is dropped, a running step is allowed to finish.

        Returns whether the thread has stopped. ``None`` waits as long as the current step takes
        (it cannot be interrupted: Qt cannot safely kill a thread in the middle of torch code).
        """
        # The worker loop returns as soon as it asks for work again.
        self.lanes.stop()
        if not self._thread.isRunning():
            return True
        stopped = self._thread.wait() if timeout_ms is None else self._thread.wait(timeout_ms)
        if not stopped:
            log.warning("the analysis thread is still busy after %s ms", timeout_ms)
        return bool(stopped)

    @Slot(object)
    def _on_event(self, event: tuple[str, tuple]) -> None:
        name, args = event
        if name == "model_loaded":
            self.model_info = args[1]
        elif name in ("result", "error"):
            # A generation's last tokens go out before its outcome, whatever the interval.
            self._deliver_tokens()
        getattr(self, name).emit(*args)

    @Slot()
    def _on_tokens_posted(self) -> None:
        # Within the interval the timer delivers; until it does, the worker adds to the one
        # delivery already posted and posts no other (TokenStream), so nothing piles up.
        if not self._stream_timer.isActive():
            self._deliver_tokens()

    @Slot()
    def _deliver_tokens(self) -> None:
        streamed = self.tokens.take()
        if streamed is not None:
            self._stream_timer.start()
            self.token_streamed.emit(streamed.request_id, streamed.index, streamed)

    @Slot(object)
    def _on_worker_crashed(self, error: BaseException) -> None:
        log.error("the analysis worker stopped", exc_info=error)
        self.error.emit(
            self.latest_analysis_id, describe_error(error, "the analysis thread stopped")
        )

    # ---- the worker thread ---------------------------------------------------------------------

    def _serve(self) -> Iterator[tuple[str, tuple]]:
        """The worker loop: one item of work at a time, each outcome yielded as an event."""
        while True:
            work = self.lanes.next_work()
            if work is None:
                return
            if isinstance(work, LoadRequest):
                yield from self._load(work)
            elif isinstance(work, AnalysisRequest):
                yield from self._analyze(work)
            elif isinstance(work, Job):
                yield from self._job_step(work)
            else:
                yield from self._live(work[1])

    def _load(self, request: LoadRequest) -> Iterator[tuple[str, tuple]]:
        # The one entry asked for, not the listing: listing imports every backend and checks
        # their caches (clip-clap's, a tenth of a second or more), which would delay the first
        # analysis. The Model menu is filled after the load, whatever its outcome.
        entry = registry.find_entry(request.spec)
        if entry is not None and not entry.available:
            # Never substitute random weights for missing ones: say so and load nothing.
            yield ("model_unavailable", (request.request_id, entry))
        else:
            yield from self._load_model(request)
        yield from self._list_models()

    def _load_model(self, request: LoadRequest) -> Iterator[tuple[str, tuple]]:
        rid = request.request_id
        try:
            yield ("progress", (rid, "Starting PyTorch…", 0.05))
            devices = self.host.import_torch()
            if not self._devices_reported:
                self._devices_reported = True
                yield ("devices_found", (devices,))
            if self._stale_load(rid):
                return
            yield (
                "progress",
                (rid, f"Loading the model {registry.short_name(request.spec)}…", 0.4),
            )
            info = self.host.load(request.spec, request.device)
        except Exception as error:  # the window must survive any broken model or folder
            yield ("error", (rid, describe_error(error, "the model could not be loaded")))
            return
        for job in self.lanes.cancel_all_jobs():
            yield from self._end_job(job, ("job_cancelled", (job.job_id,)))
        yield ("progress", (rid, "Model ready", 1.0))
        yield ("model_loaded", (rid, info))

    def _stale_load(self, request_id: int) -> bool:
        return self.lanes.stopping or request_id != self.lanes.latest_load_id

    def _list_models(self) -> Iterator[tuple[str, tuple]]:
        # Listing can import plugins and check caches: slow, so it happens here, never in the
        # GUI thread. The window builds its Model menu from what is reported.
        if not self._models_reported:
            self._models_reported = True
            yield ("models_listed", (registry.list_models(),))

    def _analyze(self, request: AnalysisRequest) -> Iterator[tuple[str, tuple]]:
        rid = request.request_id
        if rid != self.lanes.latest_analysis_id:
            return  # replaced or cancelled before it started
        if self.host.analyzer is None:
            yield ("error", (rid, _NO_MODEL))
            return
        yield ("started", (rid,))
        generates = getattr(self.host.analyzer, "generates", False)
        try:
            if generates:
                analysis, moved = self.host.run(lambda analyzer: self._generate(analyzer, request))
            else:
                analysis, moved = self.host.run(lambda analyzer: analyzer.analyze(request.sample))
        except Exception as error:
            yield ("error", (rid, describe_error(error, "the analysis failed")))
            return
        yield from self._announce_move(moved)
        if generates and rid != self.lanes.latest_analysis_id:
            # A newer input stopped this generation: its half answer is not what was asked any
            # more. The newer request's own answer follows.
            return
        self.analyses_run += 1
        # Sent even if a newer request arrived meanwhile: dropping finished work would show
        # nothing at all while requests keep coming faster than analyses finish.
        yield ("result", (rid, analysis))

    def _generate(self, analyzer, request: AnalysisRequest):
        """A generative model's answer, each token delivered to the window as it comes; it
        stops at the next token once Stop is pressed, a newer request arrives or the window
        closes."""
        rid = request.request_id
        self.tokens.begin(rid, analyzer.model.decode)

        def on_token(token_id: int) -> None:
            if self.tokens.add(token_id):
                self._tokens_posted.emit()  # queued to the GUI thread

        def should_stop() -> bool:
            lanes = self.lanes
            return lanes.stopping or rid != lanes.latest_analysis_id or rid <= self._stop_up_to

        analysis = analyzer.generate(
            request.sample, request.options, on_token=on_token, should_stop=should_stop
        )
        if analysis.finished == "stopped":
            self.generations_stopped += 1
        return analysis

    def _live(self, task) -> Iterator[tuple[str, tuple]]:
        if self.host.analyzer is None:
            self.live_discarded += 1  # no model: the frame is dropped (the load error was shown)
            return
        try:
            outcome, moved = self.host.run(task.run)
        except Exception as error:  # one bad frame or window must not end the stream
            yield ("live_failed", (describe_error(error, "a live analysis failed"),))
            return
        yield from self._announce_move(moved)
        self.live_runs += 1
        yield ("live_result", (outcome,))

    def _job_step(self, job: Job) -> Iterator[tuple[str, tuple]]:
        if job.cancelled:
            yield from self._end_job(job, ("job_cancelled", (job.job_id,)))
            return
        if self.host.analyzer is None:
            yield from self._end_job(job, ("job_failed", (job.job_id, _NO_MODEL)))
            return
        try:
            if job.steps is None:
                job.steps = iter(job.start(self.host.analyzer))
            value = next(job.steps)
        except StopIteration as done:
            yield from self._end_job(job, ("job_returned", (job.job_id, done.value)))
            return
        except Exception as error:
            if is_out_of_memory(error) and self.host.analyzer.device.type != "cpu":
                yield from self._announce_move(self.host.move_to_cpu())
            message = describe_error(error, f"the {job.name or 'batch'} failed")
            yield from self._end_job(job, ("job_failed", (job.job_id, message)))
            return
        job.steps_done += 1
        self.job_steps_run += 1
        yield ("job_progress", (job.job_id, value))

    def _end_job(self, job: Job, outcome: tuple[str, tuple]) -> Iterator[tuple[str, tuple]]:
        self.lanes.finish_job(job)
        if job.steps is not None and hasattr(job.steps, "close"):
            job.steps.close()
        yield outcome
        yield ("job_finished", (job.job_id,))

    def _announce_move(self, moved: ModelInfo | None) -> Iterator[tuple[str, tuple]]:
        if moved is None:
            return
        yield (
            "device_fallback",
            ("the device ran out of memory, so the model now runs on the CPU",),
        )
        yield ("model_loaded", (self.lanes.latest_load_id, moved))
