"""The checks that follow a dataset analysis and need the model again: the swap test and the
faithfulness of the heatmaps, on seeded draws of the analysed rows.

:func:`followup_steps` is a generator, one batch (swaps) or one record (deletion curves) per
step, so the command line drives it with a progress bar and the window's analysis service in
its background lane, answering interactive requests between two steps. It returns the summary
sections ``swap_test`` and ``faithfulness`` (a check asked for 0 records is left out).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmstudio.datasets import faithfulness_summary, swap_test
from mmstudio.datasets.analysed_rows import AnalysedRows
from mmstudio.datasets.store import ResultsStore

SWAP_TEST = "swap test"
FAITHFULNESS = "faithfulness"


@dataclass(frozen=True)
class FollowUpProgress:
    stage: str  # SWAP_TEST or FAITHFULNESS
    done: int
    total: int


def followup_steps(
    analyzer,
    results: str | Path | ResultsStore,
    *,
    swap_records: int = swap_test.DEFAULT_RECORDS,
    faithfulness_records: int = faithfulness_summary.DEFAULT_RECORDS,
    seed: int = 0,
    swap_batch_size: int = swap_test.BATCH_SIZE,
) -> Iterator[FollowUpProgress]:
    """``analyzer``: the dataset's; the swaps run on a copy without heatmaps (same model).
    A step is ``swap_batch_size`` swaps, or one record's deletion curve of one modality."""
    from mmstudio.analysis import Analyzer

    if swap_records < 0 or faithfulness_records < 0:
        raise ValueError("the number of records for a check must not be negative")
    rows = AnalysedRows.read(results)
    sections: dict[str, Any] = {}
    if swap_records:
        rows_only = Analyzer(analyzer.model, analyzer.device, explain=False)
        steps = swap_test.swap_test_steps(
            rows_only, rows, records=swap_records, seed=seed, batch_size=swap_batch_size
        )
        sections["swap_test"] = yield from _staged(SWAP_TEST, steps)
    if faithfulness_records:
        steps = faithfulness_summary.faithfulness_steps(
            analyzer, rows, records=faithfulness_records, seed=seed
        )
        sections["faithfulness"] = yield from _staged(FAITHFULNESS, steps)
    return sections


def _staged(stage: str, steps):
    yield FollowUpProgress(stage, 0, 0)
    while True:
        try:
            done, total = next(steps)
        except StopIteration as finished:
            return finished.value
        yield FollowUpProgress(stage, done, total)
