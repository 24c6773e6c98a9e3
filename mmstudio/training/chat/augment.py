"""Label-preserving changes to digits-chat's training images and clips.

The held-out splits change the writer, the font and the voice. An encoder trained from scratch
on a few thousand files learns those files, not digits (the feasibility runs: 73% of training
images against 49% of held-out ones); the same small rotations, scalings, shifts and speed
changes the shipped classifier trains with, light corruption (the studio's own levels, below
the strongest) and SpecAugment-style masks on the Whisper features make every step see a new
variant of each file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image, ImageOps

from mmstudio.training.corruption import corrupt_audio, corrupt_image
from mmstudio.training.data import Augmentation, CorruptionMix

MEDIA_AUGMENTATION = Augmentation(image_affine=0.8, audio_speed=0.7, max_rotation=12.0)
# Level 3 corrupts beyond what the clean held-out splits ask the encoders to read.
LIGHT_CORRUPTION = CorruptionMix(probabilities=(0.6, 0.25, 0.15, 0.0), shared=0.0)


@dataclass(frozen=True)
class MediaAugmenter:
    """Draws one variant of an image, of a clip's samples, or of a clip's mel features."""

    base: Augmentation = field(default=MEDIA_AUGMENTATION)
    corruption: CorruptionMix = field(default=LIGHT_CORRUPTION)
    invert: float = 0.1  # light ink on dark paper: the digits dataset has some
    gain_db: float = 6.0
    mel_bands: int = 8  # one masked band of up to this many mel bins
    frames: int = 16  # one masked span of up to this many frames

    def image(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        image = self.base.image(image.convert("RGB"), rng)
        if rng.random() < self.invert:
            image = ImageOps.invert(image)
        level = self.corruption.draw(rng, 1)[0]
        return corrupt_image(image, level, rng) if level else image

    def audio(self, samples: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        samples = self.base.audio(np.asarray(samples, dtype=np.float32), rng)
        level = self.corruption.draw(rng, 1)[0]
        if level:
            samples = corrupt_audio(samples, rate, level, rng)
        gain = 10 ** (rng.uniform(-self.gain_db, self.gain_db) / 20)
        return np.clip(samples * gain, -1.0, 1.0).astype(np.float32)

    def features(
        self, features: torch.Tensor, mask: torch.Tensor, rng: np.random.Generator
    ) -> torch.Tensor:
        """(1, mel, frames) Whisper features with one band and one span (within the clip's
        ``mask``) set to the clip's quietest level."""
        features = features.clone()
        bins, length = features.shape[1], int(mask.sum())
        floor = features.min()
        width = int(rng.integers(0, self.mel_bands + 1))
        if width:
            start = int(rng.integers(0, bins - width + 1))
            features[:, start : start + width, :length] = floor
        span = int(rng.integers(0, self.frames + 1))
        if span and length > span:
            start = int(rng.integers(0, length - span + 1))
            features[:, :, start : start + span] = floor
        return features
