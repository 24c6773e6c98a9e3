"""The Ray engine: the same batches as the local engine, on Ray Data, for datasets that
outgrow one machine (docs/scale.md).

The manifest is read by the same reader as the local engine (one set of format rules: ids,
splits, labels, missing files), handed to Ray Data as Arrow blocks, and mapped with
``map_batches`` over a pool of actors that each hold one Analyzer, so the model loads once per
actor, not once per batch. Each actor gets a GPU when the cluster has them. Rows come out of
the same :class:`~mmstudio.datasets.batch.BatchAnalyzer` with the same schema, and Ray writes
them as Parquet files into the same results folder, which therefore reads, resumes and
summarises exactly like the local engine's.

Ray is an optional extra (``pip install mmstudio[scale]``), imported only here.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from mmstudio.datasets.engine import todo_records
from mmstudio.datasets.records import AnalysisRecord, DatasetRecords
from mmstudio.datasets.schema import RowLayout
from mmstudio.datasets.store import ResultsStore
from mmstudio.datasets.task_layout import layout_for
from mmstudio.inputs.errors import InputError
from mmstudio.training.manifest import Record

GENERATORS_NOT_ON_RAY = (
    "the ray engine analyses classifiers only for now; analyse a generative model with "
    "--engine local"
)
# Enough blocks that every actor has work queued behind the one it is on.
BLOCKS_PER_ACTOR = 4
_RECORD_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        *(
            pa.field(name, pa.string())
            for name in ("label", "image", "audio", "text", "text_file", "split", "problem")
        ),
        pa.field("meta", pa.string()),  # JSON: metadata values keep their own types
    ]
)


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is a separate extra of ray
    except ImportError as error:
        raise InputError(
            "the ray engine needs Ray Data: pip install 'mmstudio[scale]' "
            f"(or 'ray[data]>=2.51'); {error}"
        ) from None
    return ray


def records_table(records: Sequence[Record]) -> pa.Table:
    """Records as Arrow rows, the form Ray Data moves between machines."""

    def text(value) -> str | None:
        return None if value is None else str(value)

    return pa.Table.from_pylist(
        [
            {
                "id": r.id,
                "label": r.label,
                "image": text(r.image),
                "audio": text(r.audio),
                "text": r.text,
                "text_file": text(getattr(r, "text_file", None)),
                "split": r.split,
                "problem": getattr(r, "problem", None),
                "meta": json.dumps(r.meta, ensure_ascii=False),
            }
            for r in records
        ],
        schema=_RECORD_SCHEMA,
    )


def records_from_table(table: pa.Table) -> list[Record]:
    def path(value) -> Path | None:
        return None if value is None else Path(value)

    return [
        AnalysisRecord(
            id=row["id"],
            label=row["label"],
            image=path(row["image"]),
            audio=path(row["audio"]),
            text=row["text"],
            split=row["split"],
            meta=json.loads(row["meta"]),
            text_file=path(row["text_file"]),
            problem=row["problem"],
        )
        for row in table.to_pylist()
    ]


class AnalyzerActor:
    """One Analyzer per Ray actor (two with ``compare``); ``__call__`` turns a batch of
    record rows into result rows."""

    def __init__(
        self,
        model: str | None,
        device: str,
        layout: RowLayout,
        threads: int = 1,
        compare: str | None = None,
    ):
        import torch

        from mmstudio.analysis import load_analyzer
        from mmstudio.datasets.batch import BatchAnalyzer

        # Each actor has its own CPUs; more torch threads than that only contend.
        torch.set_num_threads(max(1, threads))
        analyzer = load_analyzer(model, device, explain=False)
        second = load_analyzer(compare, device, explain=False) if compare else None
        self.batches = BatchAnalyzer(analyzer, layout, second)

    def __call__(self, table: pa.Table) -> pa.Table:
        return self.batches(records_from_table(table))


class RayAnalysis:
    """One analysis of ``dataset`` on Ray Data into the results folder ``out``.

    ``address`` (or the ``RAY_ADDRESS`` variable) names an existing cluster; without either,
    and with no Ray connection already open, a local Ray instance starts for this run.
    """

    def __init__(
        self,
        model: str | None,
        dataset: DatasetRecords,
        out: str | Path,
        *,
        batch_size: int = 32,
        actors: int = 2,
        cpus_per_actor: int = 1,
        device: str = "auto",
        resume: bool = False,
        overwrite: bool = False,
        address: str | None = None,
        compare: str | None = None,
    ):
        if batch_size < 1 or actors < 1 or cpus_per_actor < 1:
            raise ValueError("batch_size, actors and cpus_per_actor must be at least 1")
        self.ray = import_ray()
        # Actors do not share this process's working folder: a checkpoint path must be whole.
        self.model = _whole_path(model)
        self.compare = _whole_path(compare)
        self.dataset = dataset
        self.batch_size = batch_size
        self.actors = actors
        self.cpus_per_actor = cpus_per_actor
        self.device = device
        self.address = address or os.environ.get("RAY_ADDRESS")
        self.layout = _layout(model, dataset, compare)
        self.store = ResultsStore(out)
        self.store.start(self.layout.schema, resume=resume, overwrite=overwrite)

    def run(self) -> int:
        """Analyse every record not yet in the results; the number of rows written."""
        todo = todo_records(self.dataset.records, self.store.finished_ids())
        if not todo:
            return 0
        self._connect()
        gpus = self._gpus_per_actor()
        rows = self.ray.data.from_arrow(self._blocks(todo)).map_batches(
            AnalyzerActor,
            fn_constructor_kwargs={
                "model": self.model,
                "device": "cuda" if gpus else self.device,
                "layout": self.layout,
                "threads": self.cpus_per_actor,
                "compare": self.compare,
            },
            batch_size=self.batch_size,
            batch_format="pyarrow",
            compute=self.ray.data.ActorPoolStrategy(size=self.actors),
            num_cpus=self.cpus_per_actor,
            num_gpus=gpus or None,
        )
        rows.write_parquet(str(self.store.path))
        return len(todo)

    def _connect(self) -> None:
        if self.ray.is_initialized():
            return
        if self.address:
            self.ray.init(address=self.address)
        else:
            self.ray.init(include_dashboard=False)

    def _gpus_per_actor(self) -> int:
        if self.device == "cpu":
            return 0
        return 1 if self.ray.cluster_resources().get("GPU", 0) >= 1 else 0

    def _blocks(self, records: list[Record]) -> list[pa.Table]:
        size = max(self.batch_size, math.ceil(len(records) / (self.actors * BLOCKS_PER_ACTOR)))
        table = records_table(records)
        return [table.slice(start, size) for start in range(0, len(records), size)]


def _whole_path(model: str | None) -> str | None:
    return str(Path(model).resolve()) if model and Path(model).exists() else model


def _layout(model: str | None, dataset: DatasetRecords, compare: str | None) -> RowLayout:
    """The row layout, from the models loaded once here on the CPU: every actor writes the
    same schema, with the same model fingerprints the local engine would record (and a
    label mismatch of a ``compare`` model is refused before Ray starts)."""
    from mmstudio.analysis import load_analyzer

    analyzer = load_analyzer(model, "cpu", explain=False)
    if analyzer.generates:
        raise InputError(GENERATORS_NOT_ON_RAY)
    second = load_analyzer(compare, "cpu", explain=False) if compare else None
    return layout_for(analyzer, dataset.records, second)
