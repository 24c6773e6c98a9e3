"""The statistics of a comparison: confidence intervals over seeds, paired tests between
strategies, and MultiBench's robustness measures.

Seeds are the unit of replication: each seed is one independent training of a strategy, and
the same seed gives every strategy the same data order, corruptions and augmentation, so two
strategies' results on one seed form a pair.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

CONFIDENCE = 0.95
ALPHA = 0.05
# Differences closer than this are float noise, not spread (accuracies are multiples of 1/N).
TIE = 1e-12
ONE_SEED = "one seed: the interval cannot be computed"


@dataclass
class Interval:
    """Mean and Student-t confidence interval over seeds: mean ± t(1 - a/2, n - 1) · s / sqrt(n),
    with s the sample standard deviation (n - 1 in the denominator). None bounds with one seed."""

    mean: float | None
    half_width: float | None
    low: float | None
    high: float | None
    n: int
    values: list[float]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def mean_interval(values: Sequence[float | None], confidence: float = CONFIDENCE) -> Interval:
    from scipy import stats

    kept = [float(v) for v in values if v is not None and math.isfinite(v)]
    n = len(kept)
    if n == 0:
        return Interval(None, None, None, None, 0, [], "no values")
    mean = sum(kept) / n
    if n == 1:
        return Interval(mean, None, None, None, 1, kept, ONE_SEED)
    sd = math.sqrt(sum((v - mean) ** 2 for v in kept) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return Interval(mean, half, mean - half, mean + half, n, kept)


@dataclass
class PairTest:
    """Paired t-test of ``a`` against ``b`` over the seeds both have; ``p_holm`` is adjusted for
    the number of pairs compared on the same metric (Holm's step-down)."""

    a: str
    b: str
    n: int
    mean_difference: float | None  # a - b
    p: float | None
    p_holm: float | None = None
    significant: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_test(a: str, b: str, values_a: dict[int, float | None],
                values_b: dict[int, float | None]) -> PairTest:  # fmt: skip
    """``values_*`` map seed -> value; only seeds where both have a value are paired."""
    from scipy import stats

    seeds = sorted(s for s in values_a if s in values_b
                   and values_a[s] is not None and values_b[s] is not None)  # fmt: skip
    diffs = [float(values_a[s]) - float(values_b[s]) for s in seeds]
    n = len(diffs)
    if n < 2:
        return PairTest(a, b, n, diffs[0] if diffs else None, None,
                        note=f"{n} paired seed{'s' if n != 1 else ''}: cannot be tested")  # fmt: skip
    mean = sum(diffs) / n
    if max(diffs) - min(diffs) <= TIE:
        # No spread: the t statistic is undefined. Equal results differ by nothing; a gap of one
        # sign on every seed gets the exact two-sided sign test, 2 * 0.5^n, which says how
        # little n seeds can show however consistent the gap.
        if abs(mean) <= TIE:
            return PairTest(a, b, n, 0.0, 1.0, note="no difference on any seed")
        p = 0.5 ** (n - 1)
        note = "the same difference on every seed: exact sign test"
        return PairTest(a, b, n, mean, p, note=note)
    p = float(stats.ttest_rel([values_a[s] for s in seeds], [values_b[s] for s in seeds]).pvalue)
    return PairTest(a, b, n, mean, p)


def holm(tests: list[PairTest], alpha: float = ALPHA) -> list[PairTest]:
    """Holm-Bonferroni over the tests with a p-value: the i-th smallest of m is multiplied by
    (m - i), i from 0, kept monotone; a test is significant when its adjusted p is below alpha."""
    ranked = sorted((t for t in tests if t.p is not None), key=lambda t: t.p)
    m, running = len(ranked), 0.0
    for i, test in enumerate(ranked):
        running = max(running, min(1.0, (m - i) * test.p))
        test.p_holm = running
        test.significant = running < alpha
    return tests


def compare_pairs(by_strategy: dict[str, dict[int, float | None]]) -> list[PairTest]:
    """Every pair of strategies on one metric, Holm-corrected across the pairs."""
    tests = [paired_test(a, b, by_strategy[a], by_strategy[b])
             for a, b in combinations(by_strategy, 2)]  # fmt: skip
    return holm(tests)


def relative_robustness(accuracy_by_level: Sequence[float]) -> float:
    """MultiBench's relative robustness (Liang et al. 2021, "MultiBench"): the area under the
    accuracy-vs-imperfection curve, by the trapezoid rule with the levels spread evenly over
    [0, 1] (x_i = i / (L - 1) for levels 0..L-1):

        RR = sum_i (x_{i+1} - x_i) (acc_i + acc_{i+1}) / 2

    MultiBench spaces its noise levels 0.1 apart; putting ours on [0, 1] keeps RR an accuracy.
    """
    accuracy = list(accuracy_by_level)
    if len(accuracy) < 2:
        return float(accuracy[0])
    width = 1.0 / (len(accuracy) - 1)
    return sum(width * (accuracy[i] + accuracy[i + 1]) / 2 for i in range(len(accuracy) - 1))


def effective_robustness(accuracy: Sequence[float], reference: Sequence[float]) -> float:
    """MultiBench's effective robustness: the accuracy under imperfection beyond what the
    reference method's curve (late fusion, as in MultiBench), shifted to start at this method's
    clean accuracy, predicts:

        ER = sum_i [acc_i - (ref_i + acc_0 - ref_0)]

    summed over the levels (level 0 contributes 0). Positive: degrades more gracefully than late
    fusion. MultiBench then min-max normalises RR and ER across the methods of a table; we keep
    the raw values, which stay comparable across comparisons and admit confidence intervals.
    """
    return sum(
        a - (r + accuracy[0] - reference[0]) for a, r in zip(accuracy, reference, strict=True)
    )
