"""A CSV record of live predictions, kept in memory while switched on and saved on request."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmstudio import MODALITIES

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
        shapley = [_blank_if_absent(analysis.shapley.get(m)) for m in MODALITIES]
        self.rows.append(
            (
                stamp,
                round(time.monotonic() - self.started, 3),
                "" if frame_id is None else frame_id,
                analysis.predicted_label,
                round(analysis.confidence, 5),
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


def _blank_if_absent(value: float | None) -> str | float:
    # An absent modality has no contribution at all, which is not the same as a zero one.
    return "" if value is None else round(value, 6)
