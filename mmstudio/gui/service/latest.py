"""A mailbox with room for one item: the producer overwrites, the consumer takes the newest.

This is how live mode drops frames rather than queueing them: while the model is busy, each new
frame replaces the one waiting, so the next analysis is always of the newest frame and work
never piles up, however slow the model.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: T | None = None
        self.replaced = 0  # items overwritten before anyone took them: dropped work
        self.taken = 0

    def put(self, item: T) -> bool:
        """Store ``item``; True when the slot was empty, i.e. the consumer needs waking."""
        with self._lock:
            was_empty = self._item is None
            if not was_empty:
                self.replaced += 1
            self._item = item
            return was_empty

    def take(self) -> T | None:
        with self._lock:
            item, self._item = self._item, None
            if item is not None:
                self.taken += 1
            return item

    def __len__(self) -> int:
        with self._lock:
            return 0 if self._item is None else 1

    def reset_counts(self) -> None:
        with self._lock:
            self.replaced = 0
            self.taken = 0
