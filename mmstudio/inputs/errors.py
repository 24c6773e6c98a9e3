"""The one error type for anything wrong with what a user gave us."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """A user-facing problem with an input file or value.

    The message is meant to be shown as-is in the window or on stderr: it names the
    source and says what is wrong in plain words, never a traceback. ``kind``, where the file
    could not be decoded, says which sort of failure it was (a ``failures.Kind``).
    """

    def __init__(self, message: str, source: str | Path | None = None, *, kind=None):
        self.source = str(source) if source is not None else None
        self.reason = message
        self.kind = kind
        super().__init__(f"{Path(self.source).name}: {message}" if self.source else message)
