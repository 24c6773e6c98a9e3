"""A dataset analysis run in the window's analysis service's background lane.

The window's one model runs it, one batch per step, and the worker answers any interactive
request between two steps: clicking a row while the dataset runs still answers at interactive
speed. It offers what the Dataset view follows (``progressed`` / ``finished`` / ``failed``,
``cancel()``, ``results``), plus ``opened``: the
results folder is named after the model's weights, which only the worker thread holds, so it
is known once the job has started.

With ``compare`` (a second model's name or folder), the worker thread loads that model too, on
the window's device, and every row holds both models' answers; the cache key includes it. A
generative model answers with ``generation`` (the window's Generation options, contrastive
answers left out), and the cache key includes those options; with ``coalition_answers`` it
also answers under every coalition of the record's modalities (2^M - 1 more generations per
record), in results of their own.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from mmstudio.analysis import Analyzer, load_analyzer
from mmstudio.datasets.cache import cached_results_path
from mmstudio.datasets.engine import LocalAnalysis, Progress
from mmstudio.datasets.records import read_records
from mmstudio.datasets.store import ResultsStore
from mmstudio.datasets.summary import RunningSummary
from mmstudio.gui.service import AnalysisService
from mmstudio.models.generative.options import GenerationOptions

_OPENED = "opened"
# How often the worker brings the summary up to date: as often as the view refreshes.
SUMMARY_SECONDS = 1.0


class ServiceDatasetJob(QObject):
    opened = Signal(object)  # Path of the results folder (cached per model and dataset)
    progressed = Signal(object)  # Progress after each batch
    finished = Signal(object)  # the last Progress (None if no batch ran); also after a cancel
    failed = Signal(str)

    def __init__(
        self,
        service: AnalysisService,
        dataset: str | Path,
        *,
        cache_root: str | Path | None = None,
        batch_size: int = 4,
        compare: str | None = None,
        generation=None,
        coalition_answers: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.dataset = Path(dataset)
        self.cache_root = cache_root
        # Small batches: an interactive request waits for the batch in progress, so a batch
        # must take well under the 100 ms a click may take. 4 records take about 20 ms on 2
        # cores; against 8 they cost the window's dataset 15% of its rate and take 13 ms off
        # the median click (benchmarks/dataset_gui.py).
        self.batch_size = batch_size
        self.compare = compare or None
        # A generative model's decoding options (GenerationOptions; None: the defaults).
        self.generation = generation
        self.coalition_answers = coalition_answers  # read only for a generative model
        self.results: Path | None = None
        self.last: Progress | None = None
        self.done = False
        service.job_progress.connect(self._on_progress)
        service.job_failed.connect(self._on_failed)
        service.job_cancelled.connect(self._on_stopped)
        service.job_returned.connect(self._on_stopped)
        self.job_id = service.submit_job(self._steps, name=f"dataset {self.dataset.name}")

    def cancel(self) -> None:
        """Stop after the batch in progress; the rows finished so far stay in ``results``."""
        self.service.cancel_job(self.job_id)

    def _steps(self, analyzer):
        """Runs in the worker thread: the engine's generator, one batch per step."""
        records = read_records(self.dataset)
        # Loaded here, in the worker thread: a second model may take seconds to load.
        second = (
            load_analyzer(self.compare, analyzer.device, explain=False) if self.compare else None
        )
        generation = None
        coalitions = analyzer.generates and self.coalition_answers
        if analyzer.generates:
            generation = replace(self.generation or GenerationOptions(), contrastive=False)
        results = cached_results_path(
            analyzer.model,
            self.dataset,
            self.cache_root,
            compare=None if second is None else second.model,
            generation=generation,
            coalition_answers=coalitions,
        )
        # The same model object without heatmaps: rows store none (a row's are recomputed when
        # it is opened), so a dataset pays only for predictions and coalitions.
        rows_only = Analyzer(analyzer.model, analyzer.device, explain=False)
        # A cached folder from an earlier (possibly interrupted) run is continued, not redone.
        engine = LocalAnalysis(
            rows_only,
            records,
            results,
            # One answer per step: each is a whole generation, and a click waits for the step.
            batch_size=1 if analyzer.generates else self.batch_size,
            resume=results.exists(),
            compare=second,
            generation=generation,
            coalition_answers=coalitions,
        )
        yield (_OPENED, results)
        summary = RunningSummary(ResultsStore(results), SUMMARY_SECONDS)
        for progress in engine.steps():
            summary.update(progress)
            yield progress

    def _mine(self, job_id: int) -> bool:
        return job_id == self.job_id and not self.done

    def _on_progress(self, job_id: int, value) -> None:
        if not self._mine(job_id):
            return
        if isinstance(value, tuple) and value[:1] == (_OPENED,):
            self.results = value[1]
            self.opened.emit(self.results)
            return
        self.last = value
        self.progressed.emit(value)

    def _on_failed(self, job_id: int, message: str) -> None:
        if self._mine(job_id):
            self.done = True
            self.failed.emit(message)

    def _on_stopped(self, job_id: int, *_value) -> None:
        if self._mine(job_id):
            self.done = True
            self.finished.emit(self.last)
