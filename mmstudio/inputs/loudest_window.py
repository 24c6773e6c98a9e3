"""Choosing the stretch of a long recording that a model with a fixed window listens to.

numpy only, so the window (which must not import torch on its GUI thread) can show
exactly the stretch the model's preprocessing analysed.
"""

from __future__ import annotations

import numpy as np


def loudest_window_start(samples: np.ndarray, length: int) -> int:
    """Index where the ``length``-sample stretch with the most energy begins (0 if it all fits),
    so a spoken word is kept even when a long recording starts or ends with silence."""
    if length <= 0 or len(samples) <= length:
        return 0
    energy = np.concatenate([[0.0], np.cumsum(np.asarray(samples, dtype=np.float64) ** 2)])
    return int(np.argmax(energy[length:] - energy[:-length]))
