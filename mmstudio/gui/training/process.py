"""The comparison's driver runs in a process of its own, never in the window's: a crash in
training (or a GPU running out of memory) cannot take the window down.

It is started detached from the start, so closing the window can leave it training without
any hand-over; the window knows it by its process id (driver.json says the same once the driver
has started) and by the comparison folder it writes. Its output goes to a log file in the
cache (:func:`driver_log`), whose last lines explain a driver that failed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QProcess

from mmstudio.inputs.errors import InputError
from mmstudio.studio_runs import TrainingSettings
from mmstudio.studio_runs.launch import driver_log

DETACHED = "mmstudio.studio_runs.detached"


def start_driver(settings: TrainingSettings) -> int:
    """Start ``mmstudio train`` for ``settings`` in its own process; its process id. InputError
    when the process cannot start (the interpreter is gone, the log cannot be written)."""
    log = driver_log(settings.out)
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("", encoding="utf-8")
    except OSError as error:
        raise InputError(f"the training log cannot be written ({error})", log) from error
    # The static form is the one that gives the process id; the step in between sends the
    # output to the log (a detached process started this way has none of its own).
    program, arguments = sys.executable, ["-m", DETACHED, str(log), *settings.arguments()]
    started, pid = QProcess.startDetached(program, arguments, str(Path.cwd()))
    if not started or not pid:
        raise InputError("the training process could not start", program)
    return int(pid)
