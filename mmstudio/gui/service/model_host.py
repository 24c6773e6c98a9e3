"""The one model of a window, in the analysis thread: loading it, the device it runs on, and
what happens when that device runs out of memory. No Qt: the service calls it from its worker.

torch and the Analyzer are imported only here, inside the worker thread, so the window appears
before the (seconds-long) torch import finishes and the GUI thread never runs model code.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mmstudio.inputs.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """What the window shows about the loaded model (plain values: safe to pass across threads)."""

    name: str
    source: str
    device: str
    device_type: str
    precision: str  # the dtype the model computes in, from a real forward (autocast counts)
    labels: tuple[str, ...]
    parameters: int
    fusion_weights_kind: str
    load_seconds: float
    weights_precision: str = ""  # the dtype its weights are stored in
    task: str = "classification"  # or "generation": the window shows an answer view then

    @property
    def generates(self) -> bool:
        return self.task == "generation"


class ModelHost:
    """Holds the analyzer; every lane runs its model code through :meth:`run`."""

    def __init__(self) -> None:
        self.analyzer = None
        self.info: ModelInfo | None = None
        self._devices: list[str] | None = None

    def import_torch(self) -> list[str]:
        """Import torch (capping its threads the first time); the devices it can use."""
        # numpy imports numpy.ma and numpy.random on the first np.percentile (about 30 ms),
        # which the views call to scale a spectrogram: pay that here, off the GUI thread.
        import numpy.ma  # noqa: F401
        import numpy.random  # noqa: F401
        import torch

        if self._devices is not None:
            return self._devices
        threads = analysis_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        self._devices = available_devices(torch)
        return self._devices

    def load(self, spec: str, device: str | None) -> ModelInfo:
        from mmstudio.analysis import load_analyzer

        started = time.perf_counter()
        analyzer = load_analyzer(spec, device)
        self.analyzer = analyzer
        self.info = model_info(analyzer, spec, time.perf_counter() - started)
        return self.info

    def run(self, step: Callable[[Any], Any]) -> tuple[Any, ModelInfo | None]:
        """``step(analyzer)``; when an accelerator runs out of memory, the model moves to the
        CPU and the step runs once more there. Returns the step's result and, after such a
        move, the model's new info (None otherwise)."""
        try:
            return step(self.analyzer), None
        except Exception as error:
            if not is_out_of_memory(error) or self.analyzer.device.type == "cpu":
                raise
            log.warning("out of memory on %s; moving the model to the CPU", self.analyzer.device)
        moved = self.move_to_cpu()
        return step(self.analyzer), moved

    def move_to_cpu(self) -> ModelInfo:
        import torch

        from mmstudio.analysis import Analyzer

        previous = self.analyzer
        self.analyzer = Analyzer(previous.model.to("cpu"), torch.device("cpu"))
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        source = self.info.source if self.info else ""
        self.info = model_info(self.analyzer, source, 0.0)
        return self.info


def analysis_threads() -> int | None:
    """torch's intra-op thread count for the analysis thread, or None to leave torch's choice.

    On a small CPU, torch's threads on every core would starve the GUI thread of CPU time, so
    one core stays free for the window. OMP_NUM_THREADS, when set, is the user's choice.
    """
    cores = os.cpu_count() or 1
    if "OMP_NUM_THREADS" in os.environ or cores > 4:
        return None
    return max(1, cores - 1)


def available_devices(torch) -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def model_info(analyzer, spec: str, seconds: float) -> ModelInfo:
    model = analyzer.model
    parameters = list(model.parameters())
    return ModelInfo(
        name=analyzer.model_name,
        source=str(spec),
        device=analyzer.device_name,
        device_type=analyzer.device.type,
        # A one-word forward pass in the worker: the weights' dtype is not what autocast runs.
        precision=analyzer.probe_compute_dtype(),
        weights_precision=analyzer.parameter_dtype,
        labels=tuple(model.labels),
        parameters=sum(p.numel() for p in parameters),
        fusion_weights_kind=getattr(model, "fusion_weights_kind", ""),
        load_seconds=seconds,
        task=getattr(analyzer, "task", "classification"),
    )


def describe_error(error: BaseException, context: str) -> str:
    """A message a person can act on; the traceback goes to the log, never to the window."""
    if isinstance(error, InputError):
        return str(error)
    if is_out_of_memory(error):
        return (
            f"{context}: the device ran out of memory. Try a smaller input, close other programs "
            "using the GPU, or switch Model ▸ Device to CPU."
        )
    log.exception("%s", context, exc_info=error)
    return f"{context}: {type(error).__name__}: {error}"


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    return type(error).__name__ == "OutOfMemoryError" or "out of memory" in str(error).lower()
