"""Runs corpus cases through ``mmstudio.cli.main`` in this one process, one after another, and
writes one JSON line per case: exit status, output, any escaped exception and peak memory.

``python -m tests.badinput.run_cases WORK_FOLDER RESULTS_FILE NAME...``. torch is imported
once for all cases; the peak of each case is the process's resident peak (VmHWM), reset
before the case by writing 5 to /proc/self/clear_refs, so it includes torch and the model:
the memory a user's ``mmstudio predict`` would really take.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import threading
import traceback
from pathlib import Path

from tests.badinput.corpus import load_cases

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


class PeakMemory:
    """The process's resident peak since ``reset``: from the kernel's own high-water mark where
    it can be reset, else sampled every 2 ms by a thread."""

    def __init__(self) -> None:
        self._resettable = self._try_reset()
        self._sampled = 0
        self._stop = threading.Event()
        if not self._resettable:
            threading.Thread(target=self._sample, daemon=True).start()

    def reset(self) -> None:
        if self._resettable:
            self._try_reset()
        self._sampled = status_bytes("VmRSS")

    def peak(self) -> int:
        if self._resettable:
            return status_bytes("VmHWM")
        return max(self._sampled, status_bytes("VmRSS"))

    @staticmethod
    def _try_reset() -> bool:
        try:
            _CLEAR_REFS.write_text("5")
        except OSError:
            return False
        return True

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self._sampled = max(self._sampled, status_bytes("VmRSS"))


def status_bytes(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def run_case(case, folder: Path, memory: PeakMemory) -> dict:
    from mmstudio.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    args = case.build(folder)
    stdout, stderr = io.StringIO(), io.StringIO()
    status, escaped = None, None
    memory.reset()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main(args)
        except SystemExit as exit_:  # argparse: --help, --version and usage errors
            status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException:  # noqa: BLE001 - an escaped exception is what the corpus looks for
            escaped = traceback.format_exc()
    return {
        "name": case.name,
        "args": args,
        "status": status,
        "stdout": stdout.getvalue(),
        "stderr": stderr.getvalue(),
        "exception": escaped,
        "peak_bytes": memory.peak(),
    }


def main(argv: list[str]) -> int:
    work, results, *names = argv
    wanted = set(names)
    cases = [case for case in load_cases() if case.name in wanted]
    memory = PeakMemory()
    with open(results, "a", encoding="utf-8") as out:
        for index, case in enumerate(cases):
            outcome = run_case(case, Path(work) / f"case{index:03d}", memory)
            out.write(json.dumps(outcome) + "\n")
            out.flush()  # a crash loses only the cases after this one
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
