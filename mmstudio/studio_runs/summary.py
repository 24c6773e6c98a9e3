"""The comparison table the window shows when the runs finish: one row per strategy, its best
seed's checkpoint (the one a click opens), and the report's figures.

The best seed is the one with the best validation accuracy, not test accuracy: choosing by the
test split would make its figures optimistic. A run counts once it is done or stopped and its
checkpoint folder is complete (a stopped run keeps its last good checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmstudio.studio_runs.bands import confidence_halfwidth
from mmstudio.studio_runs.reader import VAL_ACCURACY, ComparisonReader, PlannedRun

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


def best_validation(reader: ComparisonReader, run: PlannedRun) -> float | None:
    values = reader.series(run.id, VAL_ACCURACY).values()
    return max(values) if values else None


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
            if checkpoint is not None and (best is None or value > best[0]):
                best = (value, run, checkpoint)
        finished = sum(1 for r in reader.runs_of(fusion) if reader.status[r.id].final)
        row.cells["runs"] = f"{finished}/{len(reader.runs_of(fusion))}"
        row.cells["best val. accuracy"] = mean_and_interval(best_values)
        if best is not None:
            _, row.best_run, row.checkpoint = best
            row.best_seed = row.best_run.seed
        rows.append(row)
    return rows
