"""Starting a run's worker process: the one place that builds its command line.

Each run trains in its own child process, so a crash or a leak in one run cannot take the
driver (or the window watching it) down, and each run's peak memory is its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mmstudio
from mmstudio.inputs.errors import InputError
from mmstudio.training.comparison.files import WORKER_LOG

WORKER_MODULE = "mmstudio.training.comparison.worker"


def check_launchable(nproc: int, batch_size: int) -> None:
    """Refuse, before anything is written, a launch :func:`worker_command` cannot build."""
    if nproc < 1:
        raise InputError(f"--nproc must be at least 1, not {nproc}")
    if batch_size % nproc:
        # Each process takes an equal slice of every global batch (see training.distributed).
        raise InputError(
            f"--batch-size {batch_size} does not divide among {nproc} processes; give a "
            f"multiple of {nproc}"
        )


def worker_command(directory: Path, run_id: str, nproc: int = 1) -> list[str]:
    """The command that trains and measures run ``run_id`` of the comparison in ``directory``:
    the worker itself, or torchrun starting ``nproc`` of them (standalone, on this machine)."""
    args = [str(directory), run_id]
    if nproc == 1:
        return [sys.executable, "-m", WORKER_MODULE, *args]
    from mmstudio.training.distributed import torchrun_command

    return torchrun_command(nproc, WORKER_MODULE, args)


def start_worker(command: list[str], run_dir: Path) -> subprocess.Popen:
    """Start ``command`` with its output appended to the run's worker.log; the child imports
    this same mmstudio (not whichever one its working folder would find first)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    source = str(Path(mmstudio.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    with (run_dir / WORKER_LOG).open("ab") as log:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
