"""The comparison's statistics against hand computations, and the report built from test.json
files written here (no training: the numbers are chosen so every outcome is known)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.conftest import require_module

require_module("scipy")

from mmstudio.training.comparison.files import TEST, RunStatus  # noqa: E402
from mmstudio.training.comparison.plan import Plan, PlannedRun  # noqa: E402
from mmstudio.training.comparison.report import build_report, write_report  # noqa: E402
from mmstudio.training.comparison.stats import (  # noqa: E402
    ONE_SEED,
    PairTest,
    effective_robustness,
    holm,
    mean_interval,
    paired_test,
    relative_robustness,
)
from mmstudio.training.evaluate import SUBSETS  # noqa: E402

T_975_2 = 4.303  # Student's t, 97.5th percentile, 2 degrees of freedom (from a printed table)


def test_the_interval_matches_a_hand_computation():
    interval = mean_interval([0.8, 0.9, 0.85])
    sd = 0.05  # sqrt(((-0.05)^2 + 0.05^2 + 0) / 2)
    assert interval.mean == pytest.approx(0.85)
    assert interval.half_width == pytest.approx(T_975_2 * sd / math.sqrt(3), rel=1e-3)
    assert interval.low == pytest.approx(0.85 - 0.12422, abs=1e-4)
    assert interval.high == pytest.approx(0.85 + 0.12422, abs=1e-4)
    assert interval.n == 3 and interval.note == ""


def test_the_interval_agrees_with_scipy():
    from scipy import stats

    values = [0.91, 0.87, 0.95, 0.9, 0.88]
    low, high = stats.t.interval(0.95, len(values) - 1, loc=sum(values) / 5,
                                 scale=stats.sem(values))  # fmt: skip
    interval = mean_interval(values)
    assert (interval.low, interval.high) == pytest.approx((low, high))


def test_one_seed_has_a_mean_but_no_interval():
    interval = mean_interval([0.7, None])
    assert interval.mean == 0.7 and interval.n == 1
    assert interval.half_width is None and interval.low is None and interval.note == ONE_SEED


def test_the_paired_test_matches_a_hand_computation():
    # Differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t = 0.2 / (0.1 / sqrt 3) = 3.464 on 2 df,
    # two-sided p = 0.0742 (t table).
    test = paired_test("a", "b", {0: 0.6, 1: 0.7, 2: 0.8}, {0: 0.5, 1: 0.5, 2: 0.5, 3: 0.1})
    assert test.n == 3 and test.mean_difference == pytest.approx(0.2)
    assert test.p == pytest.approx(0.0742, abs=5e-4)


def test_pairs_without_spread_or_without_seeds():
    same = paired_test("a", "b", {0: 0.5, 1: 0.5}, {0: 0.5, 1: 0.5})
    assert same.p == 1.0 and same.mean_difference == 0.0
    constant = paired_test("a", "b", {0: 0.9, 1: 0.8, 2: 0.7}, {0: 0.8, 1: 0.7, 2: 0.6})
    assert constant.p == pytest.approx(0.25) and "sign test" in constant.note  # 2 * 0.5^3
    alone = paired_test("a", "b", {0: 0.9}, {0: 0.8})
    assert alone.p is None and "cannot be tested" in alone.note


def test_holm_adjusts_in_order_and_keeps_monotone():
    tests = [PairTest("a", "b", 3, 0.1, 0.01), PairTest("a", "c", 3, 0.1, 0.04),
             PairTest("b", "c", 3, 0.1, 0.03), PairTest("c", "d", 1, 0.1, None)]  # fmt: skip
    holm(tests)
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(0.06, 1 x 0.04) = 0.06
    assert [t.p_holm for t in tests[:3]] == pytest.approx([0.03, 0.06, 0.06])
    assert [t.significant for t in tests] == [True, False, False, False]
    assert tests[3].p_holm is None


def test_multibench_robustness_by_hand():
    # Trapezoids of width 1/3: (0.9 + 0.7 + 0.5) / 3 = 0.7.
    assert relative_robustness([1.0, 0.8, 0.6, 0.4]) == pytest.approx(0.7)
    # Late fusion shifted to start at 0.9: 0.9, 0.7, 0.5, 0.3; the gaps 0 + .1 + .2 + .3.
    assert effective_robustness([0.9, 0.8, 0.7, 0.6], [1.0, 0.8, 0.6, 0.4]) == pytest.approx(0.6)
    assert effective_robustness([1.0, 0.8, 0.6, 0.4], [1.0, 0.8, 0.6, 0.4]) == 0.0


def _result(overall: list[float], ece: float) -> dict:
    levels = ["0", "1", "2", "3"]
    return {
        "levels": [0, 1, 2, 3],
        "subsets": list(SUBSETS),
        "overall": dict(zip(levels, overall, strict=True)),
        "accuracy": {lv: {s: overall[i] for s in SUBSETS} for i, lv in enumerate(levels)},
        "ece_clean": ece,
        "params": 1000,
        "train_seconds": 2.0,
        "peak_memory_mib": 500.0,
        "analysis_latency_seconds": 0.01,
    }


def _comparison(folder: Path, curves: dict[str, list[list[float]]]) -> Plan:
    runs = []
    for fusion, per_seed in curves.items():
        for seed, curve in enumerate(per_seed):
            run = PlannedRun(f"{fusion}-seed{seed}", fusion, seed, f"{fusion}-seed{seed}", 8)
            runs.append(run)
            (folder / run.dir).mkdir(parents=True)
            RunStatus("done").write(folder / run.dir)
            (folder / run.dir / TEST).write_text(json.dumps(_result(curve, 0.1 * (seed + 1))))
    budget = {"epochs": 2, "steps": 8, "batch_size": 2, "lr": 0.002, "modality_dropout": 0.3,
              "patience": 4}  # fmt: skip
    return Plan(str(folder), list(curves), [0, 1, 2], budget, "cpu", 1, runs)


def test_the_report_says_which_differences_hold(tmp_path):
    plan = _comparison(tmp_path, {
        "late": [[0.80, 0.7, 0.6, 0.5], [0.82, 0.7, 0.6, 0.5], [0.84, 0.7, 0.6, 0.5]],
        "gated": [[0.90, 0.8, 0.7, 0.6], [0.93, 0.8, 0.7, 0.6], [0.95, 0.8, 0.7, 0.6]],
        "concat": [[0.81, 0.7, 0.6, 0.5], [0.84, 0.7, 0.6, 0.5], [0.82, 0.7, 0.6, 0.5]],
    })  # fmt: skip
    report = build_report(tmp_path, plan)
    late = report["strategies"]["late"]
    expected = mean_interval([0.80, 0.82, 0.84])
    assert late["accuracy"]["mean"] == pytest.approx(expected.mean)
    assert late["accuracy"]["half_width"] == pytest.approx(expected.half_width)
    assert late["accuracy/image+text"]["mean"] == pytest.approx(expected.mean)
    assert late["effective_robustness"]["values"] == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    # gated: RR = (0.9 + 0.75 + 0.65 + 0.55 + ...) by trapezoids, per seed.
    gated_rr = [relative_robustness(c) for c in
                ([0.90, 0.8, 0.7, 0.6], [0.93, 0.8, 0.7, 0.6], [0.95, 0.8, 0.7, 0.6])]  # fmt: skip
    assert report["strategies"]["gated"]["relative_robustness"]["values"] == pytest.approx(gated_rr)
    by_pair = {(t["a"], t["b"]): t for t in report["comparisons"]["accuracy"]}
    # late vs gated: differences -0.10, -0.11, -0.11 on the three seeds; concat vs late:
    # +0.01, +0.02, -0.02, nothing consistent.
    assert by_pair[("late", "gated")]["significant"]
    assert not by_pair[("late", "concat")]["significant"]
    assert by_pair[("gated", "concat")]["p_holm"] >= by_pair[("gated", "concat")]["p"]
    json_path, md_path = write_report(tmp_path, plan)
    assert json.loads(json_path.read_text())["seeds"] == [0, 1, 2]
    markdown = md_path.read_text()
    significant, _, rest = markdown.partition("Not significant at this seed count:")
    assert "- accuracy: late vs gated" in significant
    assert (
        "- accuracy: late vs concat" in rest
        and "late vs concat" not in significant.split("Significant:")[1].split("accuracy/")[0]
    )
    assert "| late | 82.0 ± " in markdown
