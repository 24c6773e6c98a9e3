"""A 2-D map of the fused embeddings stored in the results: PCA, or UMAP when installed."""

from __future__ import annotations

import importlib.util

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PCA = "PCA"
UMAP = "UMAP"


def available_methods() -> list[str]:
    return [PCA, UMAP] if importlib.util.find_spec("umap") is not None else [PCA]


def embedding_matrix(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers that have an embedding, and those embeddings as an (N, D) float32 array."""
    if "embedding" not in table.column_names:  # a generative model's rows have none
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    column = table["embedding"]
    rows = np.flatnonzero(pc.is_valid(column).to_numpy(zero_copy_only=False))
    if len(rows) == 0:
        return rows, np.zeros((0, 0), dtype=np.float32)
    chosen = column.take(pa.array(rows)).combine_chunks()
    width = len(chosen[0])
    return rows, chosen.flatten().to_numpy(zero_copy_only=False).reshape(-1, width)


def project(vectors: np.ndarray, method: str = PCA, seed: int = 0) -> np.ndarray:
    """(N, D) -> (N, 2)."""
    if len(vectors) < 2:
        return np.zeros((len(vectors), 2), dtype=np.float32)
    if method == UMAP:
        import umap

        return umap.UMAP(n_components=2, random_state=seed).fit_transform(vectors)
    centred = vectors - vectors.mean(0)
    # The two leading right singular vectors are the principal axes.
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    return (centred @ axes[:2].T).astype(np.float32)
