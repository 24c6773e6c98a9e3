"""Changing a waveform's sample rate: the one resampler every reader of audio uses (files,
recordings, the models' preprocessing), so a clip sounds the same to every model.

Band-limited resampling of long mono signals in bounded memory.

torchaudio's sinc resampler is exact but works on the whole signal at once, and its kernel has
``new x (orig + 2 * width)`` entries for the rates reduced by their gcd: 44,101 Hz to 16 kHz
would need a 2.8 GB kernel. Here the rates are first reduced to a small ratio, and the signal
is resampled in chunks whose starts fall on the resampler's period, each with enough context
on both sides that every output sample equals the one-shot result.
"""

from __future__ import annotations

import math

import numpy as np

# Kernel entries above which a rate is rounded to a nearby one with a small ratio.
_MAX_KERNEL_ENTRIES = 4_000_000
# Rounding step for such rates: the pitch changes by under 0.3 % for any rate above 8 kHz.
_RATE_STEP = 50
# Input samples per chunk (about 4 MB of float32).
_CHUNK_SAMPLES = 1 << 20
# What torchaudio.functional.resample uses by default; its kernel width follows from them.
_LOWPASS_WIDTH = 6
_ROLLOFF = 0.99


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """``samples`` (1-D) as float32 from ``rate`` to ``target_rate`` Hz."""
    return resample_noting(samples, rate, target_rate)[0]


def resample_noting(
    samples: np.ndarray, rate: int, target_rate: int
) -> tuple[np.ndarray, str | None]:
    """``samples`` (1-D) from ``rate`` to ``target_rate`` Hz, and a note if the rate was rounded."""
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if rate == target_rate:
        return samples, None
    used_rate, note = _workable_rate(int(rate), int(target_rate))
    if used_rate == target_rate:
        return samples, note
    divisor = math.gcd(used_rate, target_rate)
    orig, new = used_rate // divisor, target_rate // divisor
    return _resample_chunked(samples, orig, new), note


def _kernel_entries(rate: int, target_rate: int) -> int:
    divisor = math.gcd(rate, target_rate)
    orig, new = rate // divisor, target_rate // divisor
    return new * (orig + 2 * _kernel_width(orig, new))


def _kernel_width(orig: int, new: int) -> int:
    return math.ceil(_LOWPASS_WIDTH * orig / (min(orig, new) * _ROLLOFF))


def _workable_rate(rate: int, target_rate: int) -> tuple[int, str | None]:
    if _kernel_entries(rate, target_rate) <= _MAX_KERNEL_ENTRIES:
        return rate, None
    rounded = max(_RATE_STEP, round(rate / _RATE_STEP) * _RATE_STEP)
    change = abs(rounded - rate) / rate
    return rounded, (
        f"the unusual sample rate of {rate:,} Hz was treated as {rounded:,} Hz for resampling "
        f"(a {change:.3%} change in speed and pitch)"
    )


def _resample_chunked(samples: np.ndarray, orig: int, new: int) -> np.ndarray:
    import torch  # deferred: torch takes seconds to import and is not needed to validate
    import torchaudio.functional

    # One resampler period is ``orig`` input samples -> ``new`` outputs, so a chunk starting at a
    # multiple of ``orig`` lines up with the one-shot output, given ``context`` samples each side.
    context = (math.ceil(_kernel_width(orig, new) / orig) + 1) * orig
    step = max(1, _CHUNK_SAMPLES // orig) * orig
    total = math.ceil(new * len(samples) / orig)
    out = np.empty(total, dtype=np.float32)
    written = 0
    with torch.no_grad():
        for start in range(0, len(samples), step):
            left = min(context, start)
            piece = torch.from_numpy(samples[start - left : start + step + context])
            resampled = torchaudio.functional.resample(piece, orig, new).numpy()
            skip = left // orig * new
            wanted = min(step // orig * new, total - written)
            out[written : written + wanted] = resampled[skip : skip + wanted]
            written += wanted
    return out[:written]
