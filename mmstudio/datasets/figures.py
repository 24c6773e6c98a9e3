"""The small pieces every section of a dataset summary is made with: a share that is
undefined without a denominator, its printed form, and an Arrow column as numpy."""

from __future__ import annotations

import numpy as np


def ratio(numerator, denominator) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by."""
    return float(numerator) / float(denominator) if denominator else None


def percent(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


def to_numpy(column) -> np.ndarray:
    """An Arrow array or chunked array as numpy (copied where Arrow has nulls or chunks)."""
    return column.to_numpy(zero_copy_only=False)


def list_matrix(column) -> np.ndarray:
    """A fixed-size-list column without nulls as an (N, K) array."""
    if hasattr(column, "combine_chunks"):
        column = column.combine_chunks()
    return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, column.type.list_size)
