"""Choosing the stretch of a long recording that a model with a fixed window listens to.

numpy only, so the window (which must not import torch on its GUI thread) can show
exactly the stretch the model's preprocessing analysed.
"""

from __future__ import annotations

import numpy as np

# Candidate starts are at most this many, spaced evenly: one pass over a long recording (the
# window's GUI thread calls this too), at 10 ms spacing for ten minutes at 16 kHz.
_MAX_CANDIDATES = 1 << 16


def loudest_window_start(samples: np.ndarray, length: int) -> int:
    """Index where the ``length``-sample stretch with the most energy begins (0 if it all fits),
    so a spoken word is kept even when a long recording starts or ends with silence.

    Exact to the sample for clips under 65,536 samples; longer ones are searched in steps of
    ``len(samples) // 65,536`` samples (9 ms for ten minutes at 16 kHz).
    """
    count = len(samples)
    if length <= 0 or count <= length:
        return 0
    step = max(1, count // _MAX_CANDIDATES)
    blocks = np.asarray(samples[: count // step * step], dtype=np.float32).reshape(-1, step)
    energy = np.einsum("ij,ij->i", blocks, blocks).astype(np.float64)
    totals = np.concatenate([[0.0], np.cumsum(energy)])
    span = max(1, length // step)
    best = int(np.argmax(totals[span:] - totals[:-span]))
    return min(best * step, count - length)
