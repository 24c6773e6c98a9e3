"""How much the modalities disagree on a sample, from the coalitions already computed.

Each modality alone gives a distribution over the labels (its single-modality coalition).
The conflict score is the mean Jensen-Shannon divergence between those distributions over
every pair of present modalities, in bits, so it lies in [0, 1]: 0 when they agree exactly, 1
when two are certain of different labels. It needs no extra model call.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import torch


def single_rows(masks: torch.Tensor) -> list[int]:
    """For each modality, the row of ``masks`` holding it alone."""
    rows = {tuple(row.nonzero().flatten().tolist()): k for k, row in enumerate(masks)}
    return [rows[(player,)] for player in range(masks.shape[1])]


def jensen_shannon_bits(p: np.ndarray, q: np.ndarray) -> float:
    middle = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        inside = a > 0
        return float(np.sum(a[inside] * np.log2(a[inside] / middle[inside])))

    return 0.5 * kl(p) + 0.5 * kl(q)


def modality_conflict(probabilities: dict[str, np.ndarray]) -> float | None:
    """Mean pairwise Jensen-Shannon divergence (bits) of the modalities' own distributions;
    None with fewer than two modalities."""
    if len(probabilities) < 2:
        return None
    pairs = combinations(probabilities.values(), 2)
    return float(np.mean([jensen_shannon_bits(p, q) for p, q in pairs]))
