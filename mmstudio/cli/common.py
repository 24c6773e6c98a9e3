"""What every command of the command line shares: exit statuses and how a failure is said."""

from __future__ import annotations

import sys
from pathlib import Path

EXIT_BAD_INPUT = 2
# What a shell reports for a program stopped by Ctrl+C (128 + SIGINT).
EXIT_INTERRUPTED = 130
# What a shell reports for a program stopped by SIGPIPE (128 + 13), e.g. under `| head`.
EXIT_BROKEN_PIPE = 141


def fail(message: str) -> int:
    print(f"mmstudio: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def write_files(writer, analysis, sample, folder) -> list[Path] | None:
    """``writer(analysis, sample, folder)``'s files, or None after saying why none was written."""
    try:
        return writer(analysis, sample, folder)
    except OSError as error:
        where = f" ({Path(error.filename).name})" if error.filename else ""
        fail(
            f"could not write the heatmaps to {folder}{where}: "
            f"{error.strerror or error}; none of them was written"
        )
        return None
