"""Reading a JSON-lines file while another process appends to it.

Each read takes only the bytes written since the last one. The writer flushes whole lines, yet
a read may land in the middle of one: the unfinished end is kept back until its newline comes.
A complete line that is not JSON (a disk that filled up mid-line, then a restart) is counted
and skipped, never fatal to the reader.
"""

from __future__ import annotations

import json
from pathlib import Path


class JsonLinesTail:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.partial = b""
        self.skipped = 0
        # True after a read found the file shorter than what was read: it was rewritten, and
        # everything read from it before no longer holds.
        self.restarted = False

    def read_new(self) -> list[dict]:
        """The complete lines written since the last call, parsed, in file order."""
        self.restarted = False
        try:
            with open(self.path, "rb") as file:
                size = file.seek(0, 2)
                if size < self.offset:
                    self.offset, self.partial, self.restarted = 0, b"", True
                if size == self.offset:
                    return []
                file.seek(self.offset)
                data = file.read(size - self.offset)
        except FileNotFoundError:
            return []
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        parsed = []
        for line in lines:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                self.skipped += 1
                continue
            if isinstance(value, dict):
                parsed.append(value)
            else:
                self.skipped += 1
        return parsed
