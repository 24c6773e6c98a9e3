"""The analysis worker: one QObject in one QThread that owns the model for the window's lifetime.

torch, the model and the Analyzer are imported only inside the worker's slots, which run in
the worker thread, so the window appears before the (seconds-long) torch import finishes and
the GUI thread never runs model code.

Every request carries an increasing id. The GUI thread records the newest id on the worker
before posting the request, so when the worker gets to an older one it drops it unseen:
typing, dragging a slider or a stream of microphone chunks never queues up work, and the
last request always wins. The one analysis already running is finished and reported; the
window shows it only if it is newer than what is on screen.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

from mmstudio.inputs.errors import InputError
from mmstudio.models import registry

log = logging.getLogger(__name__)

_NO_MODEL = "no model is loaded yet; choose one in the Model menu"


@dataclass(frozen=True)
class ModelInfo:
    """What the window shows about the loaded model (plain values: safe to pass across threads)."""

    name: str
    source: str
    device: str
    device_type: str
    precision: str
    labels: tuple[str, ...]
    parameters: int
    fusion_weights_kind: str
    load_seconds: float


class AnalysisWorker(QObject):
    """Lives in the worker thread. Use it through :class:`AnalysisService`, never directly."""

    started = Signal(int)
    result = Signal(int, object)
    error = Signal(int, str)
    progress = Signal(int, str, float)
    model_loaded = Signal(int, object)
    model_unavailable = Signal(int, object)
    models_listed = Signal(object)
    devices_found = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        # Written by the GUI thread, read here; a plain int assignment is atomic in CPython.
        self.latest_analysis_id = 0
        self.latest_load_id = 0
        self.stopping = False
        self.analyses_run = 0
        self._analyzer = None
        self._devices_reported = False
        self._models_reported = False

    @Slot(int, object, object)
    def load_model(self, request_id: int, spec: str, device: str | None) -> None:
        if self.stopping or request_id != self.latest_load_id:
            return
        started = time.perf_counter()
        entry = self._registered(spec)
        if entry is not None and not entry.available:
            # Never substitute random weights for missing ones: say so and load nothing.
            self.model_unavailable.emit(request_id, entry)
            return
        try:
            self.progress.emit(request_id, "Starting PyTorch…", 0.05)
            self._import_torch()
            if self.stopping:
                return
            from mmstudio.models.device import pick_device
            from mmstudio.models.registry import get_model

            target = pick_device(device)
            self.progress.emit(request_id, f"Loading the model {_short(spec)}…", 0.4)
            model = get_model(spec, target)
            if self.stopping:
                return
            self.progress.emit(request_id, "Preparing the analyzer…", 0.85)
            from mmstudio.analysis import Analyzer

            analyzer = Analyzer(model, target)
        except Exception as error:  # the window must survive any broken model or folder
            self.error.emit(request_id, describe_error(error, "the model could not be loaded"))
            return
        self._analyzer = analyzer
        self.progress.emit(request_id, "Model ready", 1.0)
        self.model_loaded.emit(
            request_id, _model_info(analyzer, spec, time.perf_counter() - started)
        )

    @Slot(int, object)
    def analyze(self, request_id: int, sample) -> None:
        if self.stopping or request_id != self.latest_analysis_id:
            return  # a newer request is already queued behind this one
        if self._analyzer is None:
            self.error.emit(request_id, _NO_MODEL)
            return
        self.started.emit(request_id)
        try:
            analysis = self._analyzer.analyze(sample)
        except Exception as error:
            self.error.emit(request_id, describe_error(error, "the analysis failed"))
            return
        self.analyses_run += 1
        # Emitted even if a newer request arrived meanwhile: dropping finished work would show
        # nothing at all while requests keep coming faster than analyses finish.
        self.result.emit(request_id, analysis)

    def _registered(self, spec: str):
        # Listing can import plugins and check caches: slow, so it happens here, never in the
        # GUI thread. The window builds its Model menu from what is reported.
        entries = registry.list_models()
        if not self._models_reported:
            self._models_reported = True
            self.models_listed.emit(entries)
        return next((entry for entry in entries if entry.name == str(spec)), None)

    def _import_torch(self) -> None:
        # numpy imports numpy.ma and numpy.random on the first np.percentile (about 30 ms), which
        # the views call to scale a spectrogram: pay that here, off the GUI thread.
        import numpy.ma  # noqa: F401
        import numpy.random  # noqa: F401
        import torch

        # On a small CPU, torch's intra-op threads on every core would starve the GUI thread
        # of CPU time; one core stays free for the window. Users can override with OMP_NUM_THREADS.
        cores = os.cpu_count() or 1
        if "OMP_NUM_THREADS" not in os.environ and cores <= 4:
            torch.set_num_threads(max(1, cores - 1))
        if not self._devices_reported:
            self._devices_reported = True
            self.devices_found.emit(_available_devices(torch))


def _available_devices(torch) -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def _model_info(analyzer, spec: str, seconds: float) -> ModelInfo:
    model = analyzer.model
    parameters = list(model.parameters())
    precision = str(parameters[0].dtype).replace("torch.", "") if parameters else "unknown"
    return ModelInfo(
        name=analyzer.model_name,
        source=str(spec),
        device=analyzer.device_name,
        device_type=analyzer.device.type,
        precision=precision,
        labels=tuple(model.labels),
        parameters=sum(p.numel() for p in parameters),
        fusion_weights_kind=getattr(model, "fusion_weights_kind", ""),
        load_seconds=seconds,
    )


def _short(spec: str) -> str:
    return os.path.basename(str(spec).rstrip("/\\")) or str(spec)


def describe_error(error: BaseException, context: str) -> str:
    """A message a person can act on; the traceback goes to the log, never to the window."""
    if isinstance(error, InputError):
        return str(error)
    if _is_out_of_memory(error):
        return (
            f"{context}: the device ran out of memory. Try a smaller input, close other programs "
            "using the GPU, or switch Model ▸ Device to CPU."
        )
    log.exception("%s", context, exc_info=error)
    return f"{context}: {type(error).__name__}: {error}"


def _is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    return type(error).__name__ == "OutOfMemoryError" or "out of memory" in str(error).lower()


class WorkerThread(QThread):
    """A QThread whose event loop runs inside a Python frame.

    With a plain QThread, PySide gives each slot call a fresh Python thread state. torch (through
    pybind11) remembers the thread state it first saw in a thread and, in a later slot, tries to
    take the GIL again with that stale state while already holding it: a silent deadlock. Running
    ``exec()`` from Python keeps one thread state for the thread's whole life.
    """

    def run(self) -> None:
        self.exec()


class AnalysisService(QObject):
    """The GUI thread's handle on the worker: posts requests, re-emits the worker's signals.

    Signals (all delivered in the GUI thread):
        started(id): the worker began this analysis.
        result(id, Analysis): an analysis that ran (queued requests replaced by newer ones never run).
        error(id, message): a user-readable message, for an analysis or a model load.
        progress(id, message, fraction): model loading stages, fraction in [0, 1].
        model_loaded(id, ModelInfo): the new model replaced the previous one.
        model_unavailable(id, ModelEntry): a registered model whose weights are missing; nothing loaded.
        models_listed(list[ModelEntry]): the registry's models, reported with the first load request.
        devices_found(list[str]): devices torch can use, reported once torch is imported.
    """

    started = Signal(int)
    result = Signal(int, object)
    error = Signal(int, str)
    progress = Signal(int, str, float)
    model_loaded = Signal(int, object)
    model_unavailable = Signal(int, object)
    models_listed = Signal(object)
    devices_found = Signal(object)

    # Private: posted to the worker, so the slots run in the worker thread.
    _analyze_requested = Signal(int, object)
    _load_requested = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._thread = WorkerThread()
        self._thread.setObjectName("mmstudio-analysis")
        self.worker = AnalysisWorker()
        self.worker.moveToThread(self._thread)
        self._analyze_requested.connect(self.worker.analyze)
        self._load_requested.connect(self.worker.load_model)
        for name in (
            "started",
            "result",
            "error",
            "progress",
            "model_loaded",
            "model_unavailable",
            "models_listed",
            "devices_found",
        ):
            getattr(self.worker, name).connect(getattr(self, name))
        # Where the OS honours it, the GUI thread wins when both want the CPU.
        self._thread.start(QThread.Priority.LowPriority)

    @property
    def latest_analysis_id(self) -> int:
        return self.worker.latest_analysis_id

    @property
    def latest_load_id(self) -> int:
        return self.worker.latest_load_id

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def request_analysis(self, sample) -> int:
        request_id = next(self._ids)
        self.worker.latest_analysis_id = request_id
        self._analyze_requested.emit(request_id, sample)
        return request_id

    def cancel_pending(self) -> None:
        """Drop every queued analysis, and the result of a running one (the inputs went empty)."""
        self.worker.latest_analysis_id = next(self._ids)

    def load_model(self, spec: str, device: str | None = None) -> int:
        request_id = next(self._ids)
        self.worker.latest_load_id = request_id
        self._load_requested.emit(request_id, str(spec), device)
        return request_id

    def shutdown(self, timeout_ms: int | None = None) -> bool:
        """Stop the thread; queued requests are skipped, a running step is allowed to finish.

        Returns whether the thread has stopped. ``None`` waits as long as the current step takes
        (it cannot be interrupted: Qt cannot safely kill a thread in the middle of torch code).
        """
        if not self._thread.isRunning():
            return True
        self.worker.stopping = True
        self._thread.quit()
        stopped = self._thread.wait() if timeout_ms is None else self._thread.wait(timeout_ms)
        if not stopped:
            log.warning("the analysis thread is still busy after %s ms", timeout_ms)
        return bool(stopped)
