"""Decoding dropped and opened files off the GUI thread, newest request first.

A 6000 x 6000 JPEG or a ten-minute recording takes a second or more to decode; on the GUI
thread that would freeze the window. Each input widget owns one :class:`BackgroundLoader`:
a job (a plain function that decodes a file) runs in Qt's thread pool, and its result or its
error comes back on the GUI thread as a signal. Every job gets an increasing number; when a
newer one has been started, an older job's result is dropped unseen, so the input always ends
up showing the last file the user gave it, whichever decode finishes first.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from mmstudio.inputs.errors import InputError

log = logging.getLogger(__name__)

_pool: QThreadPool | None = None


def decode_pool() -> QThreadPool:
    """The thread pool for file decoding, apart from Qt's global pool so that other background
    work never queues behind a long decode. Its threads keep the GUI thread's priority: a
    lowered one, preempted while it holds the GIL, would stall the GUI thread longer."""
    global _pool
    if _pool is None:
        _pool = QThreadPool()
        _pool.setObjectName("fileDecoding")
        _pool.setMaxThreadCount(max(1, min(2, os.cpu_count() or 1)))
    return _pool


class _Relay(QObject):
    """Carries a job's outcome from a pool thread to the loader's thread (queued signals)."""

    succeeded = Signal(int, object)
    failed = Signal(int, str)


class _Job(QRunnable):
    def __init__(self, number: int, job: Callable[[], object], label: str, relay: _Relay):
        super().__init__()
        self.number, self.job, self.label, self.relay = number, job, label, relay

    def run(self) -> None:
        try:
            result = self.job()
        except InputError as error:
            self._send(self.relay.failed, str(error))
        except MemoryError:
            self._send(self.relay.failed, f"{self.label}: too large for the available memory")
        except Exception as error:  # a decoder bug must still end in a banner, not a dead job
            log.exception("loading %s failed", self.label)
            self._send(self.relay.failed, f"{self.label}: could not be read ({error})")
        else:
            self._send(self.relay.succeeded, result)

    def _send(self, signal, payload) -> None:
        try:
            signal.emit(self.number, payload)
        except RuntimeError:
            pass  # the widget was closed while the file was decoding: nobody is waiting


class BackgroundLoader(QObject):
    """Runs decoding jobs in the thread pool; reports only the newest one's outcome."""

    loaded = Signal(object)  # whatever the job returned
    failed = Signal(str)  # a readable message naming the file
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._numbers = itertools.count(1)
        self._latest = 0
        self._relay = _Relay(self)
        self._relay.succeeded.connect(self._on_succeeded)
        self._relay.failed.connect(self._on_failed)

    @property
    def busy(self) -> bool:
        return self._latest != 0

    def start(self, job: Callable[[], object], label: str) -> None:
        """Run ``job`` (it decodes ``label``) in the background, superseding any running job."""
        was_busy = self.busy
        self._latest = next(self._numbers)
        decode_pool().start(_Job(self._latest, job, label, self._relay))
        if not was_busy:
            self.busy_changed.emit(True)

    def cancel(self) -> None:
        """Forget the running job: its outcome will be dropped (the decode itself finishes)."""
        if self.busy:
            self._latest = 0
            self.busy_changed.emit(False)

    @Slot(int, object)
    def _on_succeeded(self, number: int, result: object) -> None:
        if self._finish(number):
            self.loaded.emit(result)

    @Slot(int, str)
    def _on_failed(self, number: int, message: str) -> None:
        if self._finish(number):
            self.failed.emit(message)

    def _finish(self, number: int) -> bool:
        if number != self._latest:
            return False  # superseded by a newer load
        self._latest = 0
        self.busy_changed.emit(False)
        return True
