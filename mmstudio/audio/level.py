"""How loud a stretch of audio is, and a gate that decides whether it is worth analysing.

A quiet room must not vote: the model's audio encoder would turn hiss into a confident-looking
contribution. The gate opens above a threshold and closes only once the level falls a margin
below it (hysteresis), so speech hovering near the threshold does not flicker in and out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# What digital silence reads as: log10(0) has no value, and -120 dB is below any 24-bit converter.
FLOOR_DBFS = -120.0


def rms_dbfs(samples: np.ndarray) -> float:
    """Root-mean-square level relative to a full-scale square wave (1.0 -> 0 dBFS)."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.size == 0:
        return FLOOR_DBFS
    rms = float(np.sqrt(np.mean(samples * samples)))
    return max(FLOOR_DBFS, 20.0 * np.log10(rms)) if rms > 0 else FLOOR_DBFS


def peak_frame_dbfs(samples: np.ndarray, sample_rate: int, frame_seconds: float = 0.05) -> float:
    """The RMS level of the loudest short frame.

    A one-word utterance fills a fraction of a 1.5 s window; the RMS of the whole window would
    dilute it with the silence around it, while its loudest 50 ms frame still reads as speech.
    """
    samples = np.asarray(samples, dtype=np.float64).reshape(-1)
    frame = max(1, int(round(frame_seconds * sample_rate)))
    if len(samples) <= frame:
        return rms_dbfs(samples)
    usable = len(samples) - len(samples) % frame
    power = np.mean(samples[:usable].reshape(-1, frame) ** 2, axis=1)
    loudest = float(np.max(power))
    return max(FLOOR_DBFS, 10.0 * np.log10(loudest)) if loudest > 0 else FLOOR_DBFS


@dataclass
class LevelGate:
    """Open at ``threshold_db`` or louder; once open, stay open until ``hysteresis_db`` below it.

    The default suits a laptop microphone at arm's length: room noise sits around -60 to
    -50 dBFS, a spoken word peaks around -30 to -15 dBFS.
    """

    threshold_db: float = -40.0
    hysteresis_db: float = 6.0
    is_open: bool = False

    def __post_init__(self) -> None:
        if self.hysteresis_db < 0:
            raise ValueError(f"hysteresis_db must not be negative, got {self.hysteresis_db}")

    @property
    def close_db(self) -> float:
        return self.threshold_db - self.hysteresis_db

    def update(self, level_db: float) -> bool:
        """Feed the newest level; returns whether the gate is open now."""
        self.is_open = self.would_open(level_db)
        return self.is_open

    def would_open(self, level_db: float) -> bool:
        """What :meth:`update` would answer, without changing the gate."""
        return level_db >= (self.close_db if self.is_open else self.threshold_db)

    def reset(self) -> None:
        self.is_open = False
