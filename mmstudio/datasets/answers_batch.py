"""One batch of records -> one table of rows, for a generative model: each record's answer
generated (greedy unless the layout's options sample), then explained teacher-forced under
every coalition of its modalities, and, when the layout asks, generated again under each
coalition. Records are answered one by one: generation is sequential per answer anyway.

The same interface as :class:`~mmstudio.datasets.batch.BatchAnalyzer` (``decode``, ``analyze``,
calling it), so the local engine runs either without knowing the task.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from mmstudio.analysis import Analyzer
from mmstudio.datasets.batch import DecodedBatch, decode_records
from mmstudio.datasets.generation_schema import AnsweredRecord, GenerationLayout
from mmstudio.inputs.errors import InputError
from mmstudio.inputs.sample import Sample
from mmstudio.models.generative.options import GenerationOptions
from mmstudio.training.manifest import Record


class AnswerBatchAnalyzer:
    def __init__(self, analyzer: Analyzer, layout: GenerationLayout):
        if not analyzer.generates:
            raise ValueError("an answer layout needs a generative model's Analyzer")
        self.analyzer = analyzer
        self.layout = layout
        self.options = GenerationOptions(**layout.decoding())

    def __call__(self, records: Sequence[Record]) -> pa.Table:
        return self.analyze(self.decode(records))

    def decode(self, records: Sequence[Record]) -> DecodedBatch:
        return decode_records(records)

    def analyze(self, batch: DecodedBatch) -> pa.Table:
        outcomes = [o if isinstance(o, str) else self._answer(o) for o in batch.outcomes]
        return self.layout.table(batch.records, outcomes)

    def _answer(self, sample: Sample) -> AnsweredRecord | str:
        try:
            # The values only: maps are for the window, and a row has no room for them.
            analysis = self.analyzer.generate(sample, self.options, maps=False, explain=True)
            answers = None
            if self.layout.coalition_answers:
                answers = self.analyzer.coalition_answers(
                    sample, self.options, full=analysis.answer
                )
        except InputError as error:
            return str(error)
        except Exception as error:  # noqa: BLE001 - one bad record must not cost the run
            return f"the model failed on this record ({type(error).__name__}: {error})"
        return AnsweredRecord(analysis, answers)
