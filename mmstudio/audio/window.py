"""The audio the model hears in live mode: the newest seconds of the microphone, or nothing.

The window slides with time (each analysis takes the newest ``seconds``), and the level gate
marks it absent while the room is quiet, so silence is never fed to the model as if it were
something someone said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mmstudio.inputs.audio import audio_from_array
from mmstudio.inputs.sample import AudioClip

from .level import LevelGate, peak_frame_dbfs

DEFAULT_WINDOW_SECONDS = 1.5


class AudioSource(Protocol):
    sample_rate: int

    def latest(self, count: int) -> np.ndarray: ...


@dataclass(frozen=True)
class AudioWindow:
    samples: np.ndarray
    sample_rate: int
    level_db: float
    voiced: bool

    def clip(self, target_rate: int = 16000) -> AudioClip | None:
        """The window as a model input, or None when the gate holds the audio absent."""
        if not self.voiced or len(self.samples) == 0:
            return None
        return audio_from_array(
            self.samples, self.sample_rate, target_rate=target_rate, source="microphone"
        )


class GatedWindow:
    """Takes the newest ``seconds`` of ``source`` and runs them through ``gate``.

    ``take`` updates the gate, so call it from one thread (the analysis thread).
    """

    def __init__(
        self,
        source: AudioSource,
        seconds: float = DEFAULT_WINDOW_SECONDS,
        gate: LevelGate | None = None,
    ):
        if seconds <= 0:
            raise ValueError(f"the window must be longer than 0 s, got {seconds}")
        self.source = source
        self.seconds = seconds
        self.gate = gate if gate is not None else LevelGate()

    def take(self) -> AudioWindow:
        samples, rate, level = self._read()
        return AudioWindow(samples, rate, level, self.gate.update(level))

    def peek(self) -> AudioWindow:
        """The same window without moving the gate: for a snapshot taken on another thread."""
        samples, rate, level = self._read()
        return AudioWindow(samples, rate, level, self.gate.would_open(level))

    def _read(self) -> tuple[np.ndarray, int, float]:
        rate = int(self.source.sample_rate)
        samples = self.source.latest(int(round(self.seconds * rate)))
        return samples, rate, peak_frame_dbfs(samples, rate)
