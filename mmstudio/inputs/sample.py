"""The model-agnostic input: any subset of an image, a text and an audio clip."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class AudioClip:
    """Mono float32 samples in [-1, 1] at ``sample_rate`` Hz.

    ``notes`` says what a user should know about how the clip was read: truncated, scaled,
    too short to mean much.
    """

    samples: np.ndarray
    sample_rate: int
    source: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)


@dataclass(frozen=True)
class Sample:
    """One input to a fusion model. ``None`` marks a modality as absent."""

    image: Image.Image | None = None
    text: str | None = None
    audio: AudioClip | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def present(self) -> tuple[str, ...]:
        """Modalities that carry content, in the canonical order image, text, audio."""
        found = []
        if self.image is not None:
            found.append("image")
        if self.text is not None and self.text.strip():
            found.append("text")
        if self.audio is not None and len(self.audio.samples) > 0:
            found.append("audio")
        return tuple(found)

    def without(self, *modalities: str) -> Sample:
        """The same sample with some modalities switched off."""
        return Sample(
            image=None if "image" in modalities else self.image,
            text=None if "text" in modalities else self.text,
            audio=None if "audio" in modalities else self.audio,
            notes=self.notes,
        )
