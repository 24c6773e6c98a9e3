"""Exact Shapley values over modalities, from one batched evaluation of all coalitions.

With M modalities there are 2^M coalitions (8 for image, text and audio). A modality
that is not in the sample is a dummy player (adding it changes nothing), so its value
is exactly 0 and the others' values equal the Shapley values of the smaller game.
"""

from __future__ import annotations

from itertools import product
from math import factorial

import numpy as np
import torch


def coalition_masks(modality_count: int) -> torch.Tensor:
    """(2^M, M) bool; row 0 is the empty coalition and the last row the full one."""
    rows = sorted(product([False, True], repeat=modality_count), key=lambda r: (sum(r), r))
    return torch.tensor(rows, dtype=torch.bool)


def shapley_matrix(masks: torch.Tensor) -> np.ndarray:
    """(M, K) matrix A with phi = A @ v for values v over the coalitions in ``masks``."""
    count = masks.shape[1]
    index = {tuple(row.tolist()): k for k, row in enumerate(masks)}
    matrix = np.zeros((count, len(masks)), dtype=np.float64)
    for row in masks.tolist():
        for player in range(count):
            if row[player]:
                continue
            size = sum(row)
            weight = factorial(size) * factorial(count - size - 1) / factorial(count)
            with_player = list(row)
            with_player[player] = True
            matrix[player, index[tuple(with_player)]] += weight
            matrix[player, index[tuple(row)]] -= weight
    return matrix


def shapley_values(values: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """values (B, K) -> Shapley values (B, M), computed in float64 for exact efficiency."""
    return np.asarray(values, dtype=np.float64) @ matrix.T
