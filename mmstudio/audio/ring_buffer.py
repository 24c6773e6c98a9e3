"""A fixed-size ring of audio samples, written by the sound card's thread and read by the analysis.

The array is allocated once: the audio callback runs on a real-time thread where allocating or
waiting long makes the sound card drop input, so a write is one or two slice copies under a lock
that readers hold just as briefly.
"""

from __future__ import annotations

import threading

import numpy as np


class RingBuffer:
    """The most recent ``capacity`` samples of a mono stream."""

    def __init__(self, capacity: int, dtype: np.dtype | type = np.float32) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1 sample, got {capacity}")
        self._data = np.zeros(int(capacity), dtype=dtype)
        self._lock = threading.Lock()
        self._end = 0  # index one past the newest sample
        self._total = 0

    @property
    def capacity(self) -> int:
        return len(self._data)

    @property
    def total_written(self) -> int:
        """Samples written since creation or the last clear, including those overwritten since."""
        with self._lock:
            return self._total

    def __len__(self) -> int:
        with self._lock:
            return min(self._total, self.capacity)

    def write(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=self._data.dtype).reshape(-1)
        count = len(block)
        if count == 0:
            return
        if count > self.capacity:
            # Only the tail can survive; copying the rest would be overwritten anyway.
            block = block[-self.capacity :]
        with self._lock:
            self._copy_in(block)
            self._total += count

    def _copy_in(self, block: np.ndarray) -> None:
        start = self._end
        first = min(len(block), self.capacity - start)
        self._data[start : start + first] = block[:first]
        rest = len(block) - first
        if rest:
            self._data[:rest] = block[first:]
        self._end = (start + len(block)) % self.capacity

    def latest(self, count: int) -> np.ndarray:
        """A copy of the newest ``count`` samples, oldest first (fewer if fewer were written)."""
        with self._lock:
            count = max(0, min(int(count), self._total, self.capacity))
            start = (self._end - count) % self.capacity
            if start + count <= self.capacity:
                return self._data[start : start + count].copy()
            return np.concatenate((self._data[start:], self._data[: self._end]))

    def clear(self) -> None:
        with self._lock:
            self._end = 0
            self._total = 0
