"""Training-time augmentation of the normalised log-mel map (active only in ``train()`` mode).

Held-out speakers differ from training ones mostly in vocal-tract length (formants sit higher
or lower), in spectral colour (a breathy, bright or muffled voice; a different microphone) and
in which parts of a word come through clearly. A random warp of the frequency axis imitates
the first (vocal tract length perturbation, Jaitly and Hinton 2013), a random smooth
equaliser curve the second, and SpecAugment's band and span masks (Park et al. 2019) the third.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torchaudio
from torch import nn

# The value of silence in LogMelFrontend.normalize's output (80 dB below the clip's peak).
NORMALIZED_FLOOR = -2.0


class SpectrogramAugment(nn.Module):
    def __init__(self, freq_mask: int, time_mask: int, freq_warp: float, eq_db: float = 0.0):
        super().__init__()
        self.freq_warp = freq_warp
        self.eq_db = eq_db
        # iid_masks: every clip in the batch gets its own band and span.
        self.freq_masking = (
            torchaudio.transforms.FrequencyMasking(freq_mask, iid_masks=True) if freq_mask else None
        )
        self.time_masking = (
            torchaudio.transforms.TimeMasking(time_mask, iid_masks=True) if time_mask else None
        )

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, frames) -> the same shape; unchanged outside training mode."""
        if not self.training:
            return spectrogram
        maps = spectrogram.unsqueeze(1)
        if self.freq_warp:
            maps = warp_frequency(maps, self.freq_warp)
        if self.eq_db:
            maps = equalize(maps, self.eq_db)
        for masking in (self.freq_masking, self.time_masking):
            if masking is not None:
                maps = masking(maps - NORMALIZED_FLOOR) + NORMALIZED_FLOOR
        return maps.squeeze(1)


def warp_frequency(maps: torch.Tensor, amount: float) -> torch.Tensor:
    """Stretch each (B, 1, F, T) map along frequency by a factor in [1 - amount, 1 + amount],
    anchored at the lowest band; bands stretched in from beyond the top are silence."""
    batch = maps.shape[0]
    factors = 1.0 + (torch.rand(batch, device=maps.device) * 2.0 - 1.0) * amount
    theta = torch.zeros(batch, 2, 3, device=maps.device, dtype=maps.dtype)
    theta[:, 0, 0] = 1.0
    # grid_sample's y runs from -1 (band 0) to 1 (top band): output y reads input
    # y' = (y + 1) / factor - 1, which keeps band 0 in place.
    theta[:, 1, 1] = 1.0 / factors
    theta[:, 1, 2] = 1.0 / factors - 1.0
    grid = F.affine_grid(theta, list(maps.shape), align_corners=True)
    shifted = maps - NORMALIZED_FLOOR
    warped = F.grid_sample(shifted, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return warped + NORMALIZED_FLOOR


def equalize(maps: torch.Tensor, max_db: float) -> torch.Tensor:
    """Add a random smooth gain curve over frequency to each (B, 1, F, T) map: a tilt plus one
    to three ripples, within about ``max_db`` dB, then re-reference to the new peak as
    LogMelFrontend.normalize does (20 dB per unit, peak at 2)."""
    batch, _, bands, _ = maps.shape
    device, dtype = maps.device, maps.dtype
    position = torch.linspace(-1.0, 1.0, bands, device=device, dtype=dtype)
    tilt = torch.empty(batch, 1, device=device, dtype=dtype).uniform_(-1.0, 1.0)
    ripple = torch.empty(batch, 1, device=device, dtype=dtype).uniform_(-1.0, 1.0)
    cycles = torch.randint(1, 4, (batch, 1), device=device).to(dtype)
    phase = torch.rand(batch, 1, device=device, dtype=dtype) * 2.0 * math.pi
    curve = 0.5 * (tilt * position + ripple * torch.cos(math.pi * cycles * position + phase))
    gained = maps + (curve * max_db / 20.0)[:, None, :, None]
    peak = gained.amax(dim=(-2, -1), keepdim=True)
    return (gained - peak + 2.0).clamp_min(NORMALIZED_FLOOR)
