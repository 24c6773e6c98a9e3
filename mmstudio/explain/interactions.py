"""Exact modality interactions from the 2^M coalition values the Shapley values already use.

Each index is a fixed linear map of the coalition values, so like ``shapley_matrix`` it is
built once per modality count and applied as one matrix product: no extra model calls.

* Möbius transform m(T) = sum over L ⊆ T of (-1)^(|T|-|L|) v(L): what the modalities in T
  add together beyond everything their sub-coalitions add (the synergy of image × audio
  beyond each alone). The m(T) over all T add up to v(N).
* Pairwise Shapley interaction index (Grabisch & Roubens, 1999): the interaction of i and j
  averaged over the coalitions they can join, with Shapley-like weights.
* Shapley-Taylor interaction index of order 2 (Sundararajan et al., 2020): each modality
  alone (its Möbius value) plus each pair's share, so v(empty) + singles + pairs = v(N).

Interactions are written as a positive number for synergy (together they raise the score
more than separately) and a negative one for redundancy (they carry the same evidence).
A modality the sample lacks is a dummy player: every interaction involving it is 0, and the
others are those of the smaller game, so only present modalities are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from math import comb, factorial
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the matrices need only the masks' rows: a summary reads them without torch
    import torch

INDICES = ("shapley_interaction", "shapley_taylor", "moebius")
INDEX_TITLES = {
    "shapley_interaction": "pairwise Shapley interaction index",
    "shapley_taylor": "Shapley-Taylor interaction index (order 2)",
    "moebius": "Möbius transform",
}
JOIN = "+"

Weight = Callable[[int, int, int], float]  # (players, |T|, |S|) -> weight of Δ_T(S)


@dataclass(frozen=True)
class InteractionMatrices:
    """Per index, the subsets it reports (tuples of player indices) and the (len, K) matrix
    that turns the K coalition values into them."""

    subsets: dict[str, list[tuple[int, ...]]]
    matrices: dict[str, np.ndarray]


def interaction_matrices(masks: torch.Tensor | np.ndarray) -> InteractionMatrices:
    """The three indices for coalitions ordered as in ``coalition_masks`` ((K, M) bool)."""
    players = masks.shape[1]
    index = {
        sum(1 << p for p, on in enumerate(row) if on): k for k, row in enumerate(masks.tolist())
    }
    pairs = list(combinations(range(players), 2))
    singles = [(p,) for p in range(players)]
    every = [t for size in range(1, players + 1) for t in combinations(range(players), size)]
    subsets = {
        "shapley_interaction": pairs,
        "shapley_taylor": singles + pairs,
        "moebius": every,
    }
    moebius = _derivative_matrix(every, players, index, lambda n, t, s: float(s == 0))
    taylor_top = _derivative_matrix(pairs, players, index, _shapley_taylor_weight(2))
    matrices = {
        "shapley_interaction": _derivative_matrix(pairs, players, index, _shapley_weight),
        # Below the top order Shapley-Taylor is the Möbius transform itself.
        "shapley_taylor": np.vstack([moebius[: len(singles)], taylor_top]),
        "moebius": moebius,
    }
    return InteractionMatrices(subsets, matrices)


def _shapley_weight(players: int, size: int, outside: int) -> float:
    return factorial(players - outside - size) * factorial(outside) / factorial(players - size + 1)


def _shapley_taylor_weight(order: int) -> Weight:
    def weight(players: int, size: int, outside: int) -> float:
        return order / players / comb(players - 1, outside)

    return weight


def _derivative_matrix(
    targets: Sequence[tuple[int, ...]], players: int, index: dict[int, int], weight: Weight
) -> np.ndarray:
    """Rows sum_S weight(|S|) Δ_T(S) over S ⊆ N \\ T, with Δ_T(S) = sum_{L ⊆ T} ±v(S ∪ L)."""
    matrix = np.zeros((len(targets), len(index)), dtype=np.float64)
    for row, target in enumerate(targets):
        rest = [p for p in range(players) if p not in target]
        for outside in _subsets(rest):
            w = weight(players, len(target), len(outside))
            if w == 0:
                continue
            base = sum(1 << p for p in outside)
            for part in _subsets(target):
                sign = (-1) ** (len(target) - len(part))
                matrix[row, index[base | sum(1 << p for p in part)]] += sign * w
    return matrix


def _subsets(items: Sequence[int]) -> list[tuple[int, ...]]:
    return [c for size in range(len(items) + 1) for c in combinations(items, size)]


def interaction_values(values: np.ndarray, matrices: InteractionMatrices) -> dict[str, np.ndarray]:
    """values (B, K) -> per index (B, len(subsets)), in float64."""
    values = np.asarray(values, dtype=np.float64)
    return {name: values @ matrix.T for name, matrix in matrices.matrices.items()}


def named_interactions(
    values: np.ndarray,
    matrices: InteractionMatrices,
    modalities: Sequence[str],
    present: Sequence[str],
) -> dict[str, dict[str, float]]:
    """One sample's K coalition values -> its indices keyed "image+audio", over the
    modalities it has."""
    computed = interaction_values(np.asarray(values)[None], matrices)
    return {
        name: {
            JOIN.join(modalities[p] for p in subset): float(computed[name][0, i])
            for i, subset in enumerate(subsets)
            if all(modalities[p] in present for p in subset)
        }
        for name, subsets in matrices.subsets.items()
    }
