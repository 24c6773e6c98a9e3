"""The small pieces every section of a dataset summary is made with: a share that is
undefined without a denominator, its printed form, an Arrow column as numpy, and the failed
records a summary quotes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


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


# How many failed records a summary quotes, with the reason each one failed.
ERROR_EXAMPLES = 10


def error_examples(batch, failed, quoted: list[dict[str, str]]) -> list[dict[str, str]]:
    """The first failed records of ``batch`` (``failed``: a bool array) as {id, error}, as many
    as still fit beside the ``quoted`` ones."""
    room = ERROR_EXAMPLES - len(quoted)
    if room <= 0 or not failed.any():
        return []
    head = batch.take(pa.array(np.flatnonzero(failed)[:room]))
    return [
        {"id": record_id, "error": error}
        for record_id, error in zip(
            head.column("id").to_pylist(), head.column("error").to_pylist(), strict=True
        )
    ]
