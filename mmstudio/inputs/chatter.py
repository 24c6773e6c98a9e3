"""Keep the C decoders' own stderr messages off the user's terminal, and log them instead.

libmpg123 (inside libsndfile) prints a line per bad frame, libtiff one per odd tag, straight to
the process's file descriptor 2: Python's ``sys.stderr`` never sees them. While a decode runs, fd
2 points at a temporary file; what lands there is logged at DEBUG on ``mmstudio.inputs`` (shown
by ``mmstudio --verbose``) and handed to the caller, whose error message may use it.

fd 2 belongs to the whole process and decoding runs in worker threads, so the redirection is
shared: the first decode to start redirects, the last to finish restores, under a lock. Each
decode reads back only what was written while it ran; two decodes running at once may see each
other's lines, which is why this text is for logs and hints only, never for a decision alone.
Whatever else the process writes to fd 2 meanwhile (Python's warnings, another thread's output)
is logged with it rather than shown: the price of fd 2 being one per process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator

log = logging.getLogger("mmstudio.inputs")

_STDERR_FD = 2
_MAX_CHATTER_BYTES = 64 * 1024


class _Redirection:
    """The shared state: how many decodes are running, and where fd 2 went."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.saved_fd: int | None = None
        self.capture = None

    def enter(self) -> int | None:
        """Start (or join) the redirection; the capture file's offset now, None if fd 2 cannot
        be redirected (closed, as under pythonw)."""
        with self.lock:
            if self.users == 0:
                _flush_python_stderr()  # what was printed before belongs on the terminal
                try:
                    capture = tempfile.TemporaryFile()
                except OSError:
                    return None
                try:
                    saved = os.dup(_STDERR_FD)
                except OSError:
                    capture.close()
                    return None
                try:
                    os.dup2(capture.fileno(), _STDERR_FD)
                except OSError:
                    os.close(saved)
                    capture.close()
                    return None
                self.capture, self.saved_fd = capture, saved
            self.users += 1
            return os.lseek(self.capture.fileno(), 0, os.SEEK_END)

    def read(self, start: int) -> str:
        """What was written to fd 2 since ``start``, while the redirection still runs."""
        with self.lock:
            return self._read(start)

    def leave(self, start: int) -> str:
        """Stop (or leave) the redirection; what was written since ``start``."""
        with self.lock:
            _flush_python_stderr()  # a warning printed during the decode is part of it
            text = self._read(start)
            self.users -= 1
            if self.users == 0:
                os.dup2(self.saved_fd, _STDERR_FD)
                os.close(self.saved_fd)
                self.capture.close()
                self.capture, self.saved_fd = None, None
        return text

    def _read(self, start: int) -> str:
        fd = self.capture.fileno()
        end = os.lseek(fd, 0, os.SEEK_END)
        size = min(end - start, _MAX_CHATTER_BYTES)
        if size <= 0:
            return ""
        if hasattr(os, "pread"):
            data = os.pread(fd, size, start)  # leaves the offset the decoders write at alone
        else:  # Windows: read, then put the offset back at the end for the next write
            os.lseek(fd, start, os.SEEK_SET)
            data = os.read(fd, size)
            os.lseek(fd, end, os.SEEK_SET)
        return data.decode("utf-8", errors="replace").strip()


def _flush_python_stderr() -> None:
    with contextlib.suppress(AttributeError, OSError, ValueError):  # None or closed (pythonw)
        sys.stderr.flush()


_REDIRECTION = _Redirection()


class Chatter:
    """What the decoders print during one ``quiet_decoders`` block."""

    def __init__(self, start: int | None) -> None:
        self._start = start
        self.text = ""  # everything, once the block has ended

    def read(self) -> str:
        """What they printed so far (inside the block)."""
        return "" if self._start is None else _REDIRECTION.read(self._start)


@contextlib.contextmanager
def quiet_decoders(label: str) -> Iterator[Chatter]:
    """Run the block with fd 2 captured; log what the decoders printed for ``label``."""
    start = _REDIRECTION.enter()
    chatter = Chatter(start)
    try:
        yield chatter
    finally:
        if start is not None:
            chatter.text = _REDIRECTION.leave(start)
            if chatter.text:
                log.debug("the decoders' own messages while reading %s:\n%s", label, chatter.text)
