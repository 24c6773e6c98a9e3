"""``python -m mmstudio.studio_runs.detached LOG ARGS...``: run ``python -m mmstudio ARGS...``
with its output appended to LOG, in this same process (exec), so the process id the window got
when it started this one is the driver's.

The window starts its comparison drivers detached (they may outlive it); a detached process
started that way cannot be handed an output file, hence this one step in between.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m mmstudio.studio_runs.detached LOG ARGS...", file=sys.stderr)
        return 2
    log, arguments = argv[0], argv[1:]
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    command = [sys.executable, "-m", "mmstudio", *arguments]
    os.execv(sys.executable, command)
    return 1  # not reached: exec replaces this process


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
