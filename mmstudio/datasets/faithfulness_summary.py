"""Faithfulness of the heatmaps over a dataset: deletion curves on a seeded draw of records.

For each modality, up to N analysed records that have it are drawn (seeded, reproducible);
each drawn record is analysed again with its heatmaps and its deletion curves are measured for
the modalities it was drawn for (:func:`mmstudio.explain.faithfulness.deletion_curves`: the
modality alone, its units deleted in the map's order against as many at random). Per modality:

* ``area_mean``, ``area_std``: the mean and the (population) standard deviation over records of
  the area between the random and the ranked curve; > 0 beats random deletion;
* ``area_ci95``: a 95% interval for that mean (percentile bootstrap of the records, seeded),
  so two runs or two models can be told apart from noise;
* ``beats_random``: the share of records whose area is > 0;
* ``mass`` / ``ranked`` / ``random``: the mean curves.

Models that cannot re-encode an edited input (``supports_deletion`` False) or draw no heatmaps
get ``measured: false`` and the reason instead: there is nothing to delete in the map's order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmstudio.datasets.analysed_rows import AnalysedRows
from mmstudio.datasets.batch import read_error
from mmstudio.explain.faithfulness import (
    DeletionCurve,
    deletion_curves,
    summarize,
    supports_deletion,
)

# One curve is one encoder's batch of 44 variants (11 map-ordered, 33 random) and a drawn
# record is analysed once with its heatmaps: with the shipped model about 30 ms per curve on
# 2 CPU cores. With the area's spread there (std about 0.2, BENCHMARKS.md) 100 records put the
# mean within about ±0.04 (95%), enough to tell a faithful map (+0.3) from chance and two
# maps apart, in some 10 s on a CPU.
DEFAULT_RECORDS = 100
BOOTSTRAP_RESAMPLES = 2000
MEASURE = (
    "area between the random and the map-ordered deletion curve of p(predicted label), each "
    "modality alone, over the deleted share of the map's mass; > 0 beats random deletion"
)


@dataclass(frozen=True)
class CurvePlan:
    """One drawn record: its row, the modalities it was drawn for, its curves' seed."""

    row: int
    modalities: tuple[str, ...]
    seed: int


def faithfulness_plan(rows: AnalysedRows, records: int, seed: int) -> list[CurvePlan]:
    """Up to ``records`` rows per modality among those that have it; one plan per row."""
    if records <= 0 or not len(rows):
        return []
    rng = np.random.default_rng([seed, len(rows.modalities) + 1])
    drawn: dict[int, list[str]] = {}
    for modality in rows.modalities:
        for row in rng.permutation(np.flatnonzero(rows.has(modality)))[:records]:
            drawn.setdefault(int(row), []).append(modality)
    order = sorted(drawn)
    seeds = rng.integers(0, 2**31 - 1, size=len(order))
    return [CurvePlan(r, tuple(drawn[r]), int(s)) for r, s in zip(order, seeds, strict=True)]


def not_measured(reason: str) -> dict[str, Any]:
    return {"measured": False, "reason": reason}


def unsupported_reason(analyzer) -> str | None:
    model = analyzer.model
    name = getattr(model, "name", type(model).__name__)
    if not supports_deletion(model):
        return (
            f"the model {name} cannot re-encode an edited input (it has no encode_variants / "
            "text_variants), so nothing can be deleted in its maps' order"
        )
    if not hasattr(model, "heatmaps"):
        return f"the model {name} draws no heatmaps"
    return None


def faithfulness_steps(
    analyzer, rows: AnalysedRows, *, records: int = DEFAULT_RECORDS, seed: int = 0
) -> Iterator[tuple[int, int]]:
    """A generator: yields (curves done, curves in all) after each record's curve of one
    modality (one encoder's batch of variants: a short step) and returns the
    ``faithfulness`` section."""
    reason = unsupported_reason(analyzer)
    if reason is not None:
        return not_measured(reason)
    if not analyzer.explain:
        from mmstudio.analysis import Analyzer

        analyzer = Analyzer(analyzer.model, analyzer.device, explain=True)
    plans = faithfulness_plan(rows, records, seed)
    total = sum(len(plan.modalities) for plan in plans)
    curves: list[dict[str, DeletionCurve]] = []
    methods: dict[str, str] = {}
    failed, done = 0, 0
    for plan in plans:
        try:
            sample = rows.sample(plan.row)
            analysis = analyzer.analyze(sample)
        except Exception as error:  # noqa: BLE001 - a record that cannot be read is skipped
            failed += 1
            methods.setdefault("_error", read_error(error))
            done += len(plan.modalities)
            yield done, total
            continue
        measured = {}
        for modality in plan.modalities:
            measured.update(record_curve(analyzer.model, sample, analysis, modality, plan.seed))
            if modality in measured:
                methods.setdefault(modality, map_method(analysis, modality))
            done += 1
            yield done, total
        curves.append(measured)
    planned = {m for plan in plans for m in plan.modalities}
    return faithfulness_section(
        curves, methods, records=records, seed=seed, failed=failed, planned=planned
    )


def record_curve(model, sample, analysis, modality: str, seed: int) -> dict[str, DeletionCurve]:
    """One record's deletion curve of one modality ({} when its map has no mass)."""
    return deletion_curves(model, sample, analysis, modalities=[modality], seed=seed)


def map_method(analysis, modality: str) -> str:
    if modality == "text":
        return analysis.text_heatmap_method or analysis.heatmap_method
    return analysis.heatmap_method


def faithfulness_section(
    curves: list[dict[str, DeletionCurve]],
    methods: dict[str, str],
    *,
    records: int,
    seed: int,
    failed: int = 0,
    planned: set[str] = frozenset(),
) -> dict[str, Any]:
    """``planned``: the modalities records were drawn for; one without a single curve (no
    drawn map had any mass) gets an entry that says so."""
    summaries = summarize(curves)
    modalities: dict[str, Any] = {}
    for modality, found in summaries.items():
        areas = np.array([c[modality].area_between for c in curves if modality in c])
        modalities[modality] = {
            "n": found.records,
            "map": methods.get(modality, ""),
            "area_mean": found.area_mean,
            "area_std": found.area_std,
            "area_ci95": mean_interval(areas, seed),
            "beats_random": found.beats_random,
            "mass": found.mass.tolist(),
            "ranked": found.ranked.tolist(),
            "random": found.random.tolist(),
        }
    for modality in sorted(planned - set(modalities)):
        modalities[modality] = {
            "n": 0,
            "note": f"no drawn record had a map of its {modality} with any mass",
        }
    section: dict[str, Any] = {
        "measured": True,
        "records_per_modality": records,
        "seed": seed,
        "measure": MEASURE,
        "modalities": modalities,
        "failed": failed,
    }
    if "_error" in methods:
        section["failed_example"] = methods["_error"]
    if not any(entry["n"] for entry in modalities.values()):
        section.update(not_measured("no drawn record had a heatmap with any mass"))
    return section


def mean_interval(areas: np.ndarray, seed: int) -> list[float]:
    """A 95% percentile-bootstrap interval of the mean of ``areas``."""
    areas = np.asarray(areas, dtype=np.float64)
    if len(areas) < 2:
        return [float(areas.mean()), float(areas.mean())] if len(areas) else [None, None]
    rng = np.random.default_rng([seed, len(areas)])
    means = areas[rng.integers(0, len(areas), size=(BOOTSTRAP_RESAMPLES, len(areas)))].mean(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return [float(low), float(high)]


def format_faithfulness(section: dict[str, Any]) -> list[str]:
    if not section.get("measured"):
        return [f"Faithfulness of the heatmaps: not measured: {section['reason']}"]
    lines = [
        "Faithfulness of the heatmaps (area between random and map-ordered deletion; "
        "> 0 beats random):"
    ]
    for modality, entry in section["modalities"].items():
        if not entry["n"]:
            lines.append(f"  {modality:<8} not measured: {entry['note']}")
            continue
        low, high = entry["area_ci95"]
        lines.append(
            f"  {modality:<8} {entry['area_mean']:+.3f} (95% {low:+.3f} to {high:+.3f}, "
            f"std {entry['area_std']:.3f}), {entry['beats_random']:.0%} beat random "
            f"(n={entry['n']}, {entry['map']})"
        )
    return lines
