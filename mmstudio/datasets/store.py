"""Where results go: a folder of complete Parquet files, one per checkpoint.

A single Parquet file is unreadable until its footer is written at the very end, so a killed
run would lose everything. Here every checkpoint is a whole file, written under a hidden name
and renamed into place: a part either exists complete or not at all, whatever kills the
process and whenever. The folder is a Parquet dataset that pyarrow, pandas, polars and DuckDB
open as one table (``pd.read_parquet("results.parquet")``,
``SELECT * FROM 'results.parquet/*.parquet'``), and the Ray engine writes the same layout.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from mmstudio.datasets.compare import comparison_mismatch
from mmstudio.inputs.errors import InputError

PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"
# Readers skip names starting with "." or "_", so a part being written is never half-read.
_WRITING_PREFIX = ".writing-"
_MAGIC = b"PAR1"


def same_layout(first: pa.Schema, second: pa.Schema) -> bool:
    """The same columns and the same model metadata. (Field-level comparison with metadata
    would fail on the list item names Parquet renames on the way through a file.)"""
    return first.equals(second) and first.metadata == second.metadata


def _complete(path: Path) -> bool:
    """A Parquet file ends with its footer and the magic bytes; a file cut short does not.
    (Our own parts are renamed into place whole; a writer such as Ray's may be mid-file.)"""
    try:
        with open(path, "rb") as file:
            if file.seek(0, os.SEEK_END) < 2 * len(_MAGIC):
                return False
            file.seek(-len(_MAGIC), os.SEEK_END)
            return file.read() == _MAGIC
    except OSError:
        return False


class ResultsStore:
    """The results folder of one analysis."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(
                "the results path is a file; give a folder name such as results.parquet", path
            )

    @property
    def parts(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(
            p
            for p in self.path.iterdir()
            if p.suffix == PART_SUFFIX and not p.name.startswith((".", "_")) and _complete(p)
        )

    def dataset(self) -> pads.Dataset | None:
        parts = self.parts
        if not parts:
            return None
        return pads.dataset([str(p) for p in parts], format="parquet")

    def schema(self) -> pa.Schema | None:
        parts = self.parts
        return pq.read_schema(parts[0]) if parts else None

    def read(self, columns: list[str] | None = None) -> pa.Table | None:
        dataset = self.dataset()
        return None if dataset is None else dataset.to_table(columns=columns)

    def finished_ids(self) -> set[str]:
        table = self.read(columns=["id"])
        return set() if table is None else set(table.column("id").to_pylist())

    def start(self, schema: pa.Schema, *, resume: bool, overwrite: bool) -> None:
        """Make the folder ready for rows of ``schema``: new, continued, or emptied."""
        existing = self.schema()
        if existing is not None and overwrite:
            self._remove_parts()
        elif existing is not None and not resume:
            raise InputError(
                "already holds results: pass --resume to continue them or --overwrite to "
                "start again",
                self.path,
            )
        elif existing is not None and (mismatch := comparison_mismatch(existing, schema)):
            raise InputError(mismatch, self.path)
        elif existing is not None and not same_layout(existing, schema):
            raise InputError(
                "holds results of another model or dataset layout (different columns or "
                "labels); choose another --out or pass --overwrite",
                self.path,
            )
        self.path.mkdir(parents=True, exist_ok=True)
        for leftover in self.path.glob(f"{_WRITING_PREFIX}*"):
            leftover.unlink()  # a part a killed run did not finish: its rows were never counted

    def write_part(self, table: pa.Table) -> Path:
        """Write ``table`` as the next complete part, atomically."""
        final = self.path / f"{PART_PREFIX}{self._next_number():06d}{PART_SUFFIX}"
        temporary = self.path / f"{_WRITING_PREFIX}{final.name}"
        pq.write_table(table, temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())  # the rename must not reach the disk before the data
        os.replace(temporary, final)
        return final

    def _next_number(self) -> int:
        numbers = [
            int(p.stem[len(PART_PREFIX) :])
            for p in self.parts
            if p.name.startswith(PART_PREFIX) and p.stem[len(PART_PREFIX) :].isdigit()
        ]
        return max(numbers, default=-1) + 1

    def _remove_parts(self) -> None:
        for part in self.parts:
            part.unlink()
