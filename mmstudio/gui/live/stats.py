"""Live-mode figures: analyses per second, end-to-end latency and dropped frames."""

from __future__ import annotations

from collections import deque

import numpy as np


class LiveStats:
    """Rates over the last ``window_s`` seconds; latency percentiles over recent analyses."""

    def __init__(self, window_s: float = 2.0, keep: int = 600) -> None:
        self.window_s = window_s
        self._finished: deque[float] = deque()
        self.latencies_ms: deque[float] = deque(maxlen=keep)
        self.analyses = 0

    def record(self, now: float, latency_ms: float) -> None:
        self.analyses += 1
        self._finished.append(now)
        self.latencies_ms.append(latency_ms)
        self._forget(now)

    def _forget(self, now: float) -> None:
        while self._finished and now - self._finished[0] > self.window_s:
            self._finished.popleft()

    def rate(self, now: float) -> float:
        """Completions per second between the first and last analysis still in the window."""
        self._forget(now)
        if len(self._finished) < 2:
            return 0.0
        return (len(self._finished) - 1) / max(self._finished[-1] - self._finished[0], 1e-6)

    def latency(self, percentile: float) -> float | None:
        if not self.latencies_ms:
            return None
        return float(np.percentile(np.fromiter(self.latencies_ms, float), percentile))

    def reset(self) -> None:
        self._finished.clear()
        self.latencies_ms.clear()
        self.analyses = 0


def describe(
    stats: LiveStats,
    now: float,
    captured: int,
    dropped: int,
    unit: str = "analyses",
    dropped_as: str = "dropped",
) -> str:
    """One status line, e.g. '24.8 analyses/s · latency 41 ms (p95 63 ms) · dropped 12 of 300 frames'
    (a generative model's: 'answers/s' and 'skipped', as its frames are never queued)."""
    parts = [f"{stats.rate(now):.1f} {unit}/s"]
    p50, p95 = stats.latency(50), stats.latency(95)
    if p50 is not None:
        parts.append(f"latency {p50:.0f} ms (p95 {p95:.0f} ms)")
    if captured:
        parts.append(
            f"{dropped_as} {dropped} of {captured} frames ({100.0 * dropped / captured:.0f}%)"
        )
    return " · ".join(parts)
