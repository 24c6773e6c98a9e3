"""One batch of records -> one table of result rows: the unit of work of every engine.

The work splits in two so an engine can overlap them: :meth:`BatchAnalyzer.decode` opens the
files and runs the model's preprocessing (CPU work that touches no model state, safe in a
worker thread), :meth:`BatchAnalyzer.analyze` runs the model and builds the rows. A record that
cannot be opened, or that the model fails on, becomes an error row; the others go on.

With a second model (``--compare``) each batch is decoded once and both models analyse the
same Samples; each model's failure on a record is that model's error column only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from mmstudio.analysis import Analyzer
from mmstudio.datasets.records import decode_record
from mmstudio.datasets.schema import RowLayout
from mmstudio.inputs.errors import InputError
from mmstudio.inputs.sample import Sample
from mmstudio.result import Analysis
from mmstudio.training.manifest import Record


@dataclass
class DecodedBatch:
    """Records with, for each, its Sample or why it has none; ``prepared`` is the model's
    preprocessing of the Samples, in order (None if it failed or the model has none)."""

    records: list[Record]
    outcomes: list[Sample | str]
    prepared: Any = None
    # The second model's preprocessing of the same Samples (``--compare``).
    prepared_second: Any = None

    @property
    def samples(self) -> list[Sample]:
        return [o for o in self.outcomes if isinstance(o, Sample)]


def read_error(error: Exception) -> str:
    """The message an error row carries: an InputError already reads well on its own."""
    if isinstance(error, InputError):
        return str(error)
    return f"could not be read ({type(error).__name__}: {error})"


def decode_records(records: Sequence[Record]) -> DecodedBatch:
    """Each record's Sample, or the reason it cannot be read: one bad file is that record's
    error, not the batch's."""
    outcomes: list[Sample | str] = []
    for record in records:
        try:
            outcomes.append(decode_record(record))
        except Exception as error:  # noqa: BLE001 - any unreadable file is that record's error
            outcomes.append(read_error(error))
    return DecodedBatch(list(records), outcomes)


class BatchAnalyzer:
    """``second``: the Analyzer whose columns the layout's ``compare`` describes, or None."""

    def __init__(self, analyzer: Analyzer, layout: RowLayout, second: Analyzer | None = None):
        if (second is None) != (layout.compare is None):
            raise ValueError("a second Analyzer goes with a layout that compares two models")
        self.analyzer = analyzer
        self.layout = layout
        self.second = second

    def __call__(self, records: Sequence[Record]) -> pa.Table:
        return self.analyze(self.decode(records))

    def decode(self, records: Sequence[Record]) -> DecodedBatch:
        batch = decode_records(records)
        samples = batch.samples
        if samples:
            batch.prepared = _prepared(self.analyzer, samples)
            if self.second is not None:
                batch.prepared_second = _prepared(self.second, samples)
        return batch

    def analyze(self, batch: DecodedBatch) -> pa.Table:
        outcomes = self._outcomes(batch, self.analyzer, batch.prepared)
        compared = None
        if self.second is not None:
            compared = self._outcomes(batch, self.second, batch.prepared_second)
        return self.layout.table(batch.records, outcomes, compared)

    def _outcomes(self, batch: DecodedBatch, analyzer: Analyzer, prepared) -> list:
        analyses = iter(self._analyses(batch.samples, analyzer, prepared))
        return [o if isinstance(o, str) else next(analyses) for o in batch.outcomes]

    def _analyses(self, samples, analyzer: Analyzer, prepared) -> list[Analysis | str]:
        if not samples:
            return []
        try:
            return analyzer.analyze_batch(samples, prepared=prepared)
        except Exception:  # noqa: BLE001 - one bad record must not cost the batch
            return [_analyze_one(analyzer, sample) for sample in samples]


def _prepared(analyzer: Analyzer, samples: list[Sample]):
    try:
        return analyzer.prepare(samples)
    except Exception:  # noqa: BLE001 - analyze() isolates the record that fails
        return None


def _analyze_one(analyzer: Analyzer, sample: Sample) -> Analysis | str:
    try:
        return analyzer.analyze(sample)
    except InputError as error:
        return str(error)
    except Exception as error:  # noqa: BLE001
        return f"the model failed on this record ({type(error).__name__}: {error})"
