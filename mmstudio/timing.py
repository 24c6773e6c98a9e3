"""Wall-clock timing of repeated calls, shared by evaluation and the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed_ms(function: Callable[[], object], runs: int, warmup: int = 5) -> list[float]:
    """Milliseconds per call of ``function`` over ``runs`` calls, after ``warmup`` untimed ones
    (first calls pay for allocation and kernel selection)."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000.0)
    return times
