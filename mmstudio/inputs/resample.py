"""Changing a waveform's sample rate: the one resampler every reader of audio uses (files,
recordings, the models' preprocessing), so a clip sounds the same to every model."""

from __future__ import annotations

import numpy as np


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """``samples`` at ``rate`` Hz as float32 at ``target_rate`` Hz (band-limited sinc
    interpolation, torchaudio's default)."""
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if int(rate) == int(target_rate):
        return samples
    import torch  # deferred: torch takes seconds to import and is not needed to validate
    import torchaudio.functional

    with torch.no_grad():
        out = torchaudio.functional.resample(torch.from_numpy(samples), int(rate), int(target_rate))
    return out.numpy().astype(np.float32, copy=False)
