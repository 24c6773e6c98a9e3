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
from bisect import bisect_left
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


# t(0.975, df) for df = 1..30 (scipy.stats.t.ppf, to 6 decimals; a test checks them). The window
# computes bands on its event loop, where importing scipy would stall it for a second or two.
T_975 = (
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
    2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.13145, 2.119905, 2.109816, 2.100922,
    2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
    2.048407, 2.04523, 2.042272,
)  # fmt: skip
Z_975 = 1.959963984540054


@lru_cache(maxsize=64)
def t_quantile(df: int, confidence: float = CONFIDENCE) -> float:
    """The two-sided Student's t quantile for ``df`` degrees of freedom."""
    if confidence != CONFIDENCE:
        from scipy.stats import t

        return float(t.ppf(0.5 + confidence / 2, df))
    if df <= len(T_975):
        return T_975[df - 1]
    # Beyond the table, the Cornish-Fisher expansion in 1/df (better than 1e-6 from df 30).
    z = Z_975
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


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
    finite are left out: a coalition the data lacks).

    Seeds need not be evaluated at the same steps (a dataset without a split column is split
    by each seed, so an epoch has a different number of steps per seed): at every step any seed
    was evaluated at, each seed whose curve spans that step contributes its value there,
    interpolated linearly between its own evaluations.
    """
    curves = []
    for seed in series:
        points = sorted(
            (step, float(value))
            for step, value in seed.items()
            if value is not None and math.isfinite(value)
        )
        if points:
            curves.append(([p[0] for p in points], [p[1] for p in points]))
    steps = sorted({step for xs, _ in curves for step in xs})
    out = Band(steps, [], [], [], [], [], [])
    for step in steps:
        values = [_at(xs, ys, step) for xs, ys in curves if xs[0] <= step <= xs[-1]]
        mean = sum(values) / len(values)
        half = confidence_halfwidth(values)
        out.mean.append(mean)
        out.low.append(min(values))
        out.high.append(max(values))
        out.ci_low.append(mean - half)
        out.ci_high.append(mean + half)
        out.count.append(len(values))
    return out


def _at(xs: list[int], ys: list[float], step: int) -> float:
    """The curve's value at ``step`` (within its span), linearly between its points."""
    index = bisect_left(xs, step)
    if xs[index] == step:
        return ys[index]
    x0, x1, y0, y1 = xs[index - 1], xs[index], ys[index - 1], ys[index]
    return y0 + (y1 - y0) * (step - x0) / (x1 - x0)
