"""The local engine: a dataset through the Analyzer in batches, decoding beside the model.

:meth:`LocalAnalysis.steps` is a generator: each step analyses one batch and yields a
:class:`Progress`, so a command line drives it with a progress bar and the studio's analysis
service drives it in its worker thread, yielding to interactive requests between batches.
:meth:`LocalAnalysis.cancel` (from any thread), closing the generator, Ctrl+C or an exception
all end it the same way: the rows finished so far are written before it returns.

While the model runs on one batch, a small thread pool opens the files of the next ones and
runs the model's preprocessing (PIL, soundfile and numpy release the GIL), so end-to-end
throughput approaches that of the model alone. At most ``workers + 1`` batches are decoded
ahead, and rows are written out every ``flush_rows`` rows or ``flush_seconds`` seconds, so
memory stays flat however many records there are.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from mmstudio.analysis import Analyzer
from mmstudio.datasets.batch import DecodedBatch
from mmstudio.datasets.generation_schema import GenerationLayout
from mmstudio.datasets.records import DatasetRecords
from mmstudio.datasets.schema import RowLayout
from mmstudio.datasets.store import ResultsStore
from mmstudio.datasets.task_layout import batch_analyzer_for, layout_for
from mmstudio.training.manifest import Record

DEFAULT_BATCH_SIZE = 32
DEFAULT_FLUSH_ROWS = 4096
DEFAULT_FLUSH_SECONDS = 5.0


@dataclass
class Progress:
    """Where a run stands after one step.

    ``done`` counts every record with a row, those of an earlier run it resumed
    (``resumed``) included; ``rate`` is records per second of this run and ``eta_seconds``
    the time left at that rate. ``rows`` holds the rows this step produced (None on the
    last step) and ``written`` is True when the rows so far have reached the disk.
    """

    done: int
    total: int
    errors: int
    resumed: int
    elapsed: float
    rows: pa.Table | None = None
    written: bool = False
    finished: bool = False
    # The summary of every row so far, where the runner keeps one (the studio's does, in its
    # worker thread, so the window does not build it); None on the steps in between.
    summary: dict | None = None

    @property
    def rate(self) -> float:
        new = self.done - self.resumed
        return new / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None


def todo_records(records: Sequence[Record], finished: set[str]) -> list[Record]:
    return [record for record in records if record.id not in finished]


class LocalAnalysis:
    """One analysis of ``dataset`` by ``analyzer`` into the results folder ``out``; with
    ``compare`` (a second Analyzer), both models' columns go into each row. A generative
    model's rows are its answers (``generation``: GenerationOptions, default greedy;
    ``coalition_answers``: also generate under every coalition, 2^M - 1 more per record)."""

    def __init__(
        self,
        analyzer: Analyzer,
        dataset: DatasetRecords,
        out: str | Path,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        workers: int = 2,
        resume: bool = False,
        overwrite: bool = False,
        flush_rows: int = DEFAULT_FLUSH_ROWS,
        flush_seconds: float = DEFAULT_FLUSH_SECONDS,
        compare: Analyzer | None = None,
        generation=None,
        coalition_answers: bool = False,
    ):
        if batch_size < 1 or workers < 1:
            raise ValueError("batch_size and workers must be at least 1")
        self.layout: RowLayout | GenerationLayout = layout_for(
            analyzer,
            dataset.records,
            compare,
            generation=generation,
            coalition_answers=coalition_answers,
        )
        self.store = ResultsStore(out)
        self.store.start(self.layout.schema, resume=resume, overwrite=overwrite)
        self.worker = batch_analyzer_for(analyzer, self.layout, compare)
        self.dataset = dataset
        self.batch_size = batch_size
        self.workers = workers
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Stop after the batch in progress; its rows are still written."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self) -> Progress:
        """All steps at once; the last Progress."""
        progress = None
        for progress in self.steps():  # noqa: B007 - the last one is the answer
            pass
        return progress

    def steps(self) -> Iterator[Progress]:
        finished = self.store.finished_ids()
        todo = todo_records(self.dataset.records, finished)
        resumed = len(self.dataset.records) - len(todo)
        tally = _Tally(total=len(self.dataset.records), done=resumed, resumed=resumed)
        writer = _PartWriter(self.store, self.flush_rows, self.flush_seconds)
        batches = [todo[i : i + self.batch_size] for i in range(0, len(todo), self.batch_size)]
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="mmstudio-decode")
        try:
            for decoded in _decoded_in_order(pool, self.worker.decode, batches, self.workers + 1):
                if self.cancelled:
                    break
                rows = self.worker.analyze(decoded)
                written = writer.add(rows)
                tally.add(rows)
                yield tally.progress(rows, written)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            writer.flush()
        yield tally.progress(None, True, finished=not self.cancelled)


def _decoded_in_order(
    pool: ThreadPoolExecutor, decode, batches: list[list[Record]], ahead: int
) -> Iterator[DecodedBatch]:
    """``decode`` of each batch, in order, with at most ``ahead`` batches decoded early."""
    pending: deque[Future] = deque()
    upcoming = iter(batches)
    for batch in upcoming:
        pending.append(pool.submit(decode, batch))
        if len(pending) >= ahead:
            break
    while pending:
        decoded = pending.popleft().result()
        following = next(upcoming, None)
        if following is not None:
            pending.append(pool.submit(decode, following))
        yield decoded


@dataclass
class _Tally:
    total: int
    done: int
    resumed: int
    errors: int = 0
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = time.perf_counter()

    def add(self, rows: pa.Table) -> None:
        self.done += rows.num_rows
        self.errors += rows.num_rows - rows.column("error").null_count

    def progress(self, rows, written: bool, finished: bool = False) -> Progress:
        return Progress(
            done=self.done,
            total=self.total,
            errors=self.errors,
            resumed=self.resumed,
            elapsed=time.perf_counter() - self.started,
            rows=rows,
            written=written,
            finished=finished,
        )


class _PartWriter:
    """Buffers rows and writes them as one part every ``rows`` rows or ``seconds`` seconds."""

    def __init__(self, store: ResultsStore, rows: int, seconds: float):
        self.store = store
        self.rows = rows
        self.seconds = seconds
        self._pending: list[pa.Table] = []
        self._count = 0
        self._last = time.monotonic()

    def add(self, table: pa.Table) -> bool:
        self._pending.append(table)
        self._count += table.num_rows
        if self._count >= self.rows or time.monotonic() - self._last >= self.seconds:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        if self._pending:
            self.store.write_part(pa.concat_tables(self._pending))
        self._pending, self._count, self._last = [], 0, time.monotonic()
