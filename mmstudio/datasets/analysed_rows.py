"""The analysed rows of a results folder, as the follow-up checks (swap test, faithfulness)
read them: one class per record, what it has, what each coalition predicted, and its files.

A row keeps its record's file paths and text, so a follow-up opens the record again from the
row alone: neither the dataset folder nor the earlier analysis is needed, and no row is
analysed again except the few a check draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmstudio.datasets.figures import list_matrix, to_numpy
from mmstudio.datasets.records import AnalysisRecord, decode_record
from mmstudio.datasets.results_metadata import layout_of
from mmstudio.datasets.store import ResultsStore
from mmstudio.inputs.sample import Sample

_FILES = ("image_path", "audio_path", "text_path", "text", "label")


@dataclass
class AnalysedRows:
    """Rows without an error, sorted by id (so a seeded draw does not depend on how the rows
    were split into parts). ``classes`` is the label index, or the predicted index for a row
    without a label the model knows."""

    labels: list[str]
    modalities: list[str]
    coalitions: list[str]
    classes: np.ndarray  # (N,) int
    predicted: np.ndarray  # (N,) int
    present: np.ndarray  # (N, M) bool
    coalition_predictions: np.ndarray  # (N, K) int
    # id, image_path, audio_path, text_path, text, label: kept in Arrow, since a check opens
    # only the few rows it draws (a million rows as Python dicts would take gigabytes).
    files: pa.Table

    @classmethod
    def read(cls, results: str | Path | ResultsStore) -> AnalysedRows:
        store = results if isinstance(results, ResultsStore) else ResultsStore(results)
        schema = store.schema()
        if schema is None:
            raise ValueError(f"no results in {store.path}")
        info = layout_of(schema)
        modalities = info.get("modalities", [])
        columns = [
            "id",
            "error",
            "label_index",
            "predicted_index",
            "coalition_predictions",
            *_FILES,
            *(f"present_{m}" for m in modalities),
        ]
        table = store.read(columns=columns)
        table = table.filter(pc.is_null(table.column("error")))
        table = table.sort_by("id") if table.num_rows else table
        predicted = to_numpy(table.column("predicted_index")).astype(np.int64)
        labels = to_numpy(table.column("label_index").fill_null(-1)).astype(np.int64)
        coalitions = info.get("coalitions", [])
        return cls(
            labels=info.get("labels", []),
            modalities=modalities,
            coalitions=coalitions,
            classes=np.where(labels >= 0, labels, predicted),
            predicted=predicted,
            present=np.stack(
                [to_numpy(table.column(f"present_{m}")).astype(bool) for m in modalities], 1
            ).reshape(table.num_rows, len(modalities)),
            coalition_predictions=list_matrix(table.column("coalition_predictions")).astype(
                np.int64
            ),
            files=table.select(["id", *_FILES]),
        )

    def __len__(self) -> int:
        return len(self.classes)

    def has(self, modality: str) -> np.ndarray:
        return self.present[:, self.modalities.index(modality)]

    def alone_predictions(self, modality: str) -> np.ndarray:
        """(N,) what each row's ``modality`` predicts on its own (its single coalition)."""
        return self.coalition_predictions[:, self.coalitions.index(modality)]

    def sample(self, row: int) -> Sample:
        """The row's record opened again (an InputError if its files changed since)."""
        files = self.files.slice(row, 1).to_pylist()[0]

        def path(name: str) -> Path | None:
            return Path(files[name]) if files[name] is not None else None

        return decode_record(
            AnalysisRecord(
                id=files["id"],
                label=files["label"],
                image=path("image_path"),
                audio=path("audio_path"),
                text=files["text"],
                text_file=path("text_path"),
            )
        )
