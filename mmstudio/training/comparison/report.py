"""The comparison report: per strategy, the mean and 95% interval over seeds of every figure,
and which differences between strategies hold at this seed count (report.json, report.md).

Accuracy is test accuracy with every input a record has ("overall") and for each coalition of
modalities, on clean inputs (level 0); robustness uses the overall accuracy at every corruption
level. Runs without a test.json (stopped before their first epoch) are listed, not counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmstudio.training.comparison.files import (
    REPORT_JSON,
    REPORT_MD,
    TEST,
    RunStatus,
    read_json,
    write_json,
    write_text,
)
from mmstudio.training.comparison.plan import Plan
from mmstudio.training.comparison.stats import (
    ALPHA,
    CONFIDENCE,
    compare_pairs,
    effective_robustness,
    mean_interval,
    relative_robustness,
)

REFERENCE = "late"  # MultiBench's reference for effective robustness
CLEAN = "0"
# Figures of a run, by name, from its test.json (None where it has none).
COSTS = ("params", "train_seconds", "peak_memory_mib", "analysis_latency_seconds")
# The figures whose differences the Markdown report spells out (report.json has all).
HEADLINE = ("accuracy", "relative_robustness", "effective_robustness", "ece")


def build_report(directory: Path, plan: Plan) -> dict[str, Any]:
    results, runs = {}, {}
    for run in plan.runs:
        status = RunStatus.read(directory / run.dir)
        path = directory / run.dir / TEST
        runs[run.id] = {"fusion": run.fusion, "seed": run.seed, "state": status.state,
                        "result": path.is_file()}  # fmt: skip
        if path.is_file():
            results[(run.fusion, run.seed)] = read_json(path)
    figures = _figures(plan, results)
    return {
        "version": 1,
        "data": plan.data,
        "seeds": plan.seeds,
        "budget": plan.budget,
        "confidence": CONFIDENCE,
        "alpha": ALPHA,
        "accuracy_is": "test accuracy with every input a record has, clean (level 0)",
        "robustness_reference": REFERENCE if REFERENCE in plan.fusions else None,
        "levels": _levels(results),
        "runs": runs,
        "strategies": {
            fusion: {
                name: mean_interval(list(per_seed.values())).to_dict()
                for name, per_seed in figures[fusion].items()
            }
            for fusion in plan.fusions
        },  # fmt: skip
        "comparisons": {
            name: [t.to_dict() for t in compare_pairs({f: figures[f][name] for f in plan.fusions})]
            for name in figures[plan.fusions[0]]
            if name not in COSTS
        },
    }


def _levels(results: dict) -> list[str]:
    first = next(iter(results.values()), None)
    return [str(level) for level in first["levels"]] if first else []


def _figures(plan: Plan, results: dict) -> dict[str, dict[str, dict[int, float | None]]]:
    """fusion -> figure name -> seed -> value."""
    levels = _levels(results)
    subsets = next(iter(results.values()))["subsets"] if results else []
    figures: dict[str, dict[str, dict[int, float | None]]] = {}
    for fusion in plan.fusions:
        names: dict[str, dict[int, float | None]] = {"accuracy": {}}
        names.update({f"accuracy/{subset}": {} for subset in subsets})
        names.update({f"accuracy/level {level}": {} for level in levels})
        names.update({"relative_robustness": {}, "effective_robustness": {}, "ece": {}})
        names.update({cost: {} for cost in COSTS})
        for seed in plan.seeds:
            result = results.get((fusion, seed))
            if result is None:
                continue
            curve = [result["overall"][level] for level in levels]
            names["accuracy"][seed] = result["overall"][CLEAN]
            for subset in subsets:
                names[f"accuracy/{subset}"][seed] = result["accuracy"][CLEAN][subset]
            for level, value in zip(levels, curve, strict=True):
                names[f"accuracy/level {level}"][seed] = value
            names["relative_robustness"][seed] = _maybe(relative_robustness, curve)
            reference = results.get((REFERENCE, seed))
            names["effective_robustness"][seed] = (
                _maybe(effective_robustness, curve, [reference["overall"][lv] for lv in levels])
                if reference is not None
                else None
            )
            names["ece"][seed] = result["ece_clean"]
            for cost in COSTS:
                names[cost][seed] = result.get(cost)
        figures[fusion] = names
    return figures


def _maybe(function, *curves):
    """None when a curve has a level without a value (a dataset lacking every input)."""
    if any(value is None for curve in curves for value in curve):
        return None
    return function(*curves)


def write_report(directory: Path, plan: Plan) -> tuple[Path, Path]:
    report = build_report(directory, plan)
    write_json(directory / REPORT_JSON, report)
    write_text(directory / REPORT_MD, format_markdown(report))
    return directory / REPORT_JSON, directory / REPORT_MD


# ------------------------------------------------------------------------------------ Markdown


def _cell(interval: dict[str, Any], scale: float = 100.0, digits: int = 1) -> str:
    if interval["mean"] is None:
        return "–"
    mean = f"{interval['mean'] * scale:.{digits}f}"
    if interval["half_width"] is None:
        return mean
    return f"{mean} ± {interval['half_width'] * scale:.{digits}f}"


def _count(interval: dict[str, Any]) -> str:
    """A figure that is the same on every seed, such as the parameter count."""
    values = interval["values"]
    if not values:
        return "–"
    if min(values) == max(values):
        return f"{int(values[0]):,}"
    return _cell(interval, 1.0, 0)


def format_markdown(report: dict[str, Any], *, list_insignificant: bool = True) -> str:
    """report.md; without ``list_insignificant`` (a model card) the differences that do not
    hold are counted per figure instead of listed one by one."""
    strategies = report["strategies"]
    fusions = list(strategies)
    seeds = report["seeds"]
    epochs = report["budget"]["epochs"]
    lines = [
        "# Fusion strategy comparison",
        "",
        f"Data: `{report['data']}`. Seeds: {', '.join(map(str, seeds))} ({len(seeds)} per "
        f"strategy). Budget: {epochs} epoch{'s' if epochs != 1 else ''}, at most "
        f"{report['budget']['steps']} optimiser steps per run, batch size "
        f"{report['budget']['batch_size']}, modality dropout {report['budget']['modality_dropout']}.",
        "",
        f"Cells are the mean ± the half-width of the {report['confidence']:.0%} confidence "
        "interval over seeds (Student's t)"
        + ("; with one seed the interval cannot be computed." if len(seeds) < 2 else "."),
        "",
        "## Test accuracy (%), clean inputs",
        "",
    ]
    subsets = [name[len("accuracy/"):] for name in strategies[fusions[0]]
               if name.startswith("accuracy/") and not name.startswith("accuracy/level")]  # fmt: skip
    lines += _table(["strategy", "overall", *subsets], [
        [f, _cell(strategies[f]["accuracy"]), *(_cell(strategies[f][f"accuracy/{s}"]) for s in subsets)]
        for f in fusions
    ])  # fmt: skip
    levels = report["levels"]
    reference = report["robustness_reference"]
    lines += ["", "## Robustness over corruption levels " + ", ".join(levels), ""]
    lines += _table(
        ["strategy", *(f"level {lv} (%)" for lv in levels), "relative robustness (%)",
         f"effective robustness (points, vs {reference or '–'})", "ECE"],
        [[f, *(_cell(strategies[f][f"accuracy/level {lv}"]) for lv in levels),
          _cell(strategies[f]["relative_robustness"]),
          _cell(strategies[f]["effective_robustness"]),
          _cell(strategies[f]["ece"], 1.0, 3)] for f in fusions],
    )  # fmt: skip
    if reference is None:
        lines += ["", "Effective robustness needs late fusion in the comparison as its reference."]
    lines += ["", "## Costs", ""]
    lines += _table(
        ["strategy", "parameters", "training (s)", "peak memory (MiB)", "analysis latency (ms)"],
        [[f, _count(strategies[f]["params"]), _cell(strategies[f]["train_seconds"], 1.0),
          _cell(strategies[f]["peak_memory_mib"], 1.0, 0),
          _cell(strategies[f]["analysis_latency_seconds"], 1000.0)] for f in fusions],
    )  # fmt: skip
    lines += ["", *_significance(report, list_insignificant), ""]
    missing = [run_id for run_id, run in report["runs"].items() if not run["result"]]
    if missing:
        lines += [
            f"Runs without a result (stopped before their first epoch): {', '.join(missing)}.",
            "",
        ]
    return "\n".join(lines)


def _significance(report: dict[str, Any], list_insignificant: bool = True) -> list[str]:
    seeds = len(report["seeds"])
    lines = [
        f"## Which differences hold at {seeds} seed{'s' if seeds != 1 else ''}",
        "",
        f"Paired t-test over seeds, Holm-corrected across the pairs of each figure, at "
        f"{report['alpha']}. Differences are a - b.",
        "",
    ]
    significant, not_significant = [], []
    for name, tests in report["comparisons"].items():
        for test in tests:
            scale = 1.0 if name == "ece" else 100.0
            difference = ("–" if test["mean_difference"] is None
                          else f"{test['mean_difference'] * scale:+.2f}")  # fmt: skip
            p = "untestable" if test["p_holm"] is None else f"p = {test['p_holm']:.3g}"
            line = f"- {name}: {test['a']} vs {test['b']}: {difference} ({p})"
            if test["significant"]:
                significant.append(line)
            elif name in HEADLINE:
                not_significant.append(line + (f"; {test['note']}" if test["note"] else ""))
    lines += ["Significant:", "", *(significant or ["- none"]), ""]
    if not list_insignificant:
        counts = {
            name: sum(1 for t in tests if not t["significant"])
            for name, tests in report["comparisons"].items()
            if name in HEADLINE
        }
        summary = "; ".join(
            f"{name}: {count} of {len(report['comparisons'][name])} pairs"
            for name, count in counts.items()
        )
        return [
            *lines,
            f"Not significant at this seed count: {summary or 'none'} (the comparison's report.md lists each).",
        ]
    lines += ["Not significant at this seed count:", "", *(not_significant or ["- none"])]
    return lines


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
