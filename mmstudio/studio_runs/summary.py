"""The comparison table the window shows when the runs finish: one row per strategy, its best
seed's checkpoint (the one a click opens), and the report's figures (report.json: mean ± the
half-width of the 95% interval over seeds, and which strategies are significantly more accurate
at this seed count).

The best seed is the one with the best validation score (what the trainer keeps its checkpoint
by), not test accuracy: choosing by the test split would make its figures optimistic. A run
counts once it is done or stopped and its checkpoint folder is complete (a stopped run keeps its
last good checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmstudio.studio_runs.bands import confidence_halfwidth
from mmstudio.studio_runs.reader import VAL_ACCURACY, VAL_SCORE, ComparisonReader, PlannedRun

CHECKPOINT = "checkpoint"


@dataclass
class StrategyRow:
    fusion: str
    cells: dict[str, str] = field(default_factory=dict)
    best_run: PlannedRun | None = None
    checkpoint: Path | None = None
    best_seed: int | None = None


def checkpoint_of(reader: ComparisonReader, run: PlannedRun) -> Path | None:
    folder = reader.folder / run.dir / CHECKPOINT
    return folder if (folder / "config.json").is_file() else None


# report.json's figures shown, by name: (column, scale, digits, unit).
REPORT_COLUMNS = {
    "accuracy": ("test accuracy", 100.0, 1, "%"),
    "relative_robustness": ("relative robustness", 100.0, 1, "%"),
    "effective_robustness": ("effective robustness", 100.0, 1, " pt"),
    "ece": ("ECE", 1.0, 3, ""),
    "params": ("parameters", 1.0, 0, ""),
    "train_seconds": ("training", 1.0, 0, " s"),
    "analysis_latency_seconds": ("analysis latency", 1000.0, 1, " ms"),
}
SUBSET_FIGURE = "accuracy/"
SIGNIFICANT = "significantly more accurate than"


def best_validation(reader: ComparisonReader, run: PlannedRun) -> float | None:
    """The validation accuracy of the run's best evaluation (by validation score)."""
    accuracy = reader.series(run.id, VAL_ACCURACY)
    if not accuracy:
        return None
    score = reader.series(run.id, VAL_SCORE) or accuracy
    best = max((step for step in score if step in accuracy), key=lambda s: score[s], default=None)
    return accuracy[best] if best is not None else max(accuracy.values())


def mean_and_interval(values: list[float]) -> str:
    if not values:
        return "–"
    mean = sum(values) / len(values)
    if len(values) < 2:
        return f"{100 * mean:.1f}%"
    return f"{100 * mean:.1f} ± {100 * confidence_halfwidth(values):.1f}%"


def strategy_rows(reader: ComparisonReader) -> list[StrategyRow]:
    rows = []
    for fusion in reader.fusions:
        row = StrategyRow(fusion)
        best_values = []
        best = None
        for run in reader.runs_of(fusion):
            state = reader.status.get(run.id)
            value = best_validation(reader, run)
            checkpoint = checkpoint_of(reader, run)
            if state is None or state.state not in ("done", "stopped") or value is None:
                continue
            best_values.append(value)
            score = max((reader.series(run.id, VAL_SCORE) or {0: value}).values())
            if checkpoint is not None and (best is None or score > best[0]):
                best = (score, run, checkpoint)
        finished = sum(1 for r in reader.runs_of(fusion) if reader.status[r.id].final)
        row.cells["runs"] = f"{finished}/{len(reader.runs_of(fusion))}"
        row.cells.update(report_cells(reader.report, fusion))
        row.cells["best val. accuracy"] = mean_and_interval(best_values)
        if best is not None:
            _, row.best_run, row.checkpoint = best
            row.best_seed = row.best_run.seed
        rows.append(row)
    return rows


def report_cells(report: dict | None, fusion: str) -> dict[str, str]:
    """The report's figures of one strategy as table cells (none without a report)."""
    figures = ((report or {}).get("strategies") or {}).get(fusion)
    if not isinstance(figures, dict):
        return {}
    cells = {}
    for name, (column, scale, digits, unit) in REPORT_COLUMNS.items():
        cells[column] = _interval_cell(figures.get(name), scale, digits, unit)
        if name == "accuracy":
            for figure, interval in figures.items():
                subset = figure[len(SUBSET_FIGURE) :]
                if figure.startswith(SUBSET_FIGURE) and not subset.startswith("level"):
                    cells[f"with {subset}"] = _interval_cell(interval, 100.0, 1, "%")
    cells[SIGNIFICANT] = ", ".join(_beaten(report, fusion)) or "–"
    return cells


def _interval_cell(interval, scale: float, digits: int, unit: str) -> str:
    if not isinstance(interval, dict) or interval.get("mean") is None:
        return "–"
    mean = interval["mean"] * scale
    half = interval.get("half_width")
    if digits == 0 and (half is None or half == 0):
        return f"{mean:,.0f}{unit}"
    if half is None:
        return f"{mean:.{digits}f}{unit}"
    return f"{mean:.{digits}f} ± {half * scale:.{digits}f}{unit}"


def _beaten(report: dict | None, fusion: str) -> list[str]:
    """The strategies ``fusion`` is more accurate than, significantly (paired, Holm-corrected)."""
    beaten = []
    for test in ((report or {}).get("comparisons") or {}).get("accuracy") or []:
        difference = test.get("mean_difference")
        if not test.get("significant") or difference is None:
            continue
        if test.get("a") == fusion and difference > 0:
            beaten.append(str(test.get("b")))
        elif test.get("b") == fusion and difference < 0:
            beaten.append(str(test.get("a")))
    return beaten
