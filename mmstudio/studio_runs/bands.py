"""Per-step summaries of one strategy's seeds: the mean, the min–max band and the 95% band.

Seeds of one strategy share the budget, so their evaluations fall on the same optimiser steps;
while they run one after another, a later seed has reached fewer steps, and each step is summed
over the seeds that have reached it (``count`` says how many). The 95% band is the confidence
interval of the mean by Student's t, ``mean ± t(0.975, n-1) · s / sqrt(n)`` with ``s`` the sample
standard deviation: the interval the comparison report gives. One seed has no spread to speak
of, so its 95% band is the value itself (``count`` 1 says so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Band:
    """Arrays, one entry per step, in increasing step order."""

    steps: list[int]
    mean: list[float]
    low: list[float]  # min over seeds
    high: list[float]  # max over seeds
    ci_low: list[float]
    ci_high: list[float]
    count: list[int]  # seeds that reached the step

    def __len__(self) -> int:
        return len(self.steps)


@lru_cache(maxsize=64)
def t_quantile(df: int, confidence: float = CONFIDENCE) -> float:
    """The two-sided Student's t quantile for ``df`` degrees of freedom."""
    from scipy.stats import t  # imported on first use: scipy is slow to import

    return float(t.ppf(0.5 + confidence / 2, df))


def confidence_halfwidth(values: Sequence[float], confidence: float = CONFIDENCE) -> float:
    """Half the width of the t interval of the mean of ``values``; 0 for fewer than two."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    return t_quantile(n - 1, confidence) * math.sqrt(variance / n)


def band(series: Sequence[Mapping[int, float]]) -> Band:
    """The band over ``series``, one ``{step: value}`` per seed (values that are None or not
    finite are left out: a coalition the data lacks)."""
    by_step: dict[int, list[float]] = {}
    for seed in series:
        for step, value in seed.items():
            if value is not None and math.isfinite(value):
                by_step.setdefault(step, []).append(float(value))
    steps = sorted(by_step)
    out = Band(steps, [], [], [], [], [], [])
    for step in steps:
        values = by_step[step]
        mean = sum(values) / len(values)
        half = confidence_halfwidth(values)
        out.mean.append(mean)
        out.low.append(min(values))
        out.high.append(max(values))
        out.ci_low.append(mean - half)
        out.ci_high.append(mean + half)
        out.count.append(len(values))
    return out
