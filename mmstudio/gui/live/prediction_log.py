"""A CSV record of live predictions, kept in memory while switched on and saved on request.

A generative model's row holds its answer as the label, the whole answer's probability (the
product of its tokens') and the answer's Shapley values; blank where the answer was not
explained (stopped)."""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmstudio import MODALITIES
from mmstudio.result import GenerationAnalysis

# A day of analyses at 30/s; beyond that the oldest half goes, so a forgotten log cannot eat memory.
MAX_ROWS = 2_600_000

COLUMNS = (
    "time",
    "seconds",
    "frame_id",
    "label",
    "probability",
    *(f"shapley_{m}" for m in MODALITIES),
    "present",
    "latency_ms",
)


@dataclass
class PredictionLog:
    enabled: bool = False
    rows: list[tuple] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def add(
        self, analysis, frame_id: int | None, latency_ms: float, wall_time: float | None = None
    ) -> None:
        if not self.enabled:
            return
        if len(self.rows) >= MAX_ROWS:
            del self.rows[: MAX_ROWS // 2]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(wall_time or time.time()))
        label, probability, values = _outcome(analysis)
        shapley = [_blank_if_absent(values.get(m)) for m in MODALITIES]
        self.rows.append(
            (
                stamp,
                round(time.monotonic() - self.started, 3),
                "" if frame_id is None else frame_id,
                label,
                probability,
                *shapley,
                "+".join(analysis.present),
                round(latency_ms, 1),
            )
        )

    def clear(self) -> None:
        self.rows.clear()
        self.started = time.monotonic()

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(self.rows)
        return path


def _outcome(analysis) -> tuple[str, float | str, dict[str, float]]:
    """The label, its probability and the Shapley values of the present modalities."""
    if not isinstance(analysis, GenerationAnalysis):
        return analysis.predicted_label, round(analysis.confidence, 5), analysis.shapley
    values = analysis.token_coalition_logprobs
    explained = values is not None and analysis.token_count
    probability = round(math.exp(float(values[-1].sum())), 5) if explained else ""
    return analysis.answer, probability, analysis.shapley_of(None)


def _blank_if_absent(value: float | None) -> str | float:
    # An absent modality has no contribution at all, which is not the same as a zero one.
    return "" if value is None else round(value, 6)
