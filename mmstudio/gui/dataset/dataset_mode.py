"""The Dataset view inside the window: a page beside the single-sample results (Ctrl+D), fed
by a dataset analysis in the window's analysis service, so the dataset, a click on one of its
rows and live mode all use the one model the window has loaded.

The view is built on first use (pyqtgraph's summary plots and the embedding map are not needed
to show the window). Reopening a dataset with the same model shows its cached results at once;
a cache left by an interrupted run is continued. With a compare model set
(:meth:`DatasetMode.set_compare_model`), every dataset is analysed by it too, beside the
window's model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSizePolicy, QStackedWidget, QWidget

from mmstudio.gui.service import AnalysisService


class DatasetMode(QObject):
    """Signals: shown_changed(bool) — the Dataset page came up or went away;
    record_opened(dict) — a row was clicked (its record, with absolute file paths);
    record_swap_requested(dict, modality) — a row's modality is to be swapped into the sample."""

    shown_changed = Signal(bool)
    record_opened = Signal(dict)
    record_swap_requested = Signal(dict, str)

    def __init__(
        self,
        stack: QStackedWidget,
        results: QWidget,
        service: AnalysisService,
        show_error: Callable[[str], None],
        *,
        cache_root: str | Path | None = None,
    ) -> None:
        super().__init__(stack)
        self.stack = stack
        self.results = results
        self.service = service
        self.show_error = show_error
        self.cache_root = cache_root
        self.job = None
        self.followup = None  # the swap test and faithfulness of the finished dataset
        self.dataset: Path | None = None
        # The second model's name or folder ("" for none): the window sets it from settings.
        self.compare_model = ""
        # The window's Generation options (a callable returning GenerationOptions), used when
        # the loaded model generates; None for the defaults.
        self.generation_options: Callable[[], object] | None = None
        # A generative model also answers under every coalition (Dataset menu): the per-label
        # table's coalition columns. Off by default: 2^M - 1 more generations per record.
        self.coalition_answers = False
        self._view = None

    @property
    def built(self) -> bool:
        return self._view is not None

    @property
    def view(self):
        """The DatasetView, built now if it was not yet."""
        if self._view is None:
            from mmstudio.gui.dataset.view import DatasetView

            view = DatasetView(self.stack)
            view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            view.record_activated.connect(self.record_opened)
            view.swap_requested.connect(self.record_swap_requested)
            self.stack.addWidget(view)
            self._view = view
        return self._view

    @property
    def shown(self) -> bool:
        return self._view is not None and self.stack.currentWidget() is self._view

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    def set_shown(self, shown: bool) -> None:
        if shown == self.shown:
            return
        page, other = (self.view, self.results) if shown else (self.results, self._view)
        # A stacked widget is as wide as its widest page: the hidden page must not hold it open.
        if other is not None:
            other.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        page.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.stack.setCurrentWidget(page)
        self.shown_changed.emit(shown)

    def open_dataset(self, folder: str | Path) -> None:
        """Analyse ``folder`` (a manifest folder or a plain folder of files) in the background
        lane, or show its cached results if this model has analysed it before."""
        from mmstudio.gui.dataset.service_job import ServiceDatasetJob

        if self.running:
            self.job.cancel()  # one dataset at a time; its finished rows stay in its cache
        if self.followup is not None and not self.followup.done:
            self.followup.cancel()
        self.followup = None  # until this dataset finishes
        self.dataset = Path(folder)
        self.set_shown(True)
        view = self.view
        view.status.setText(f"Opening {self.dataset.name}…")
        job = ServiceDatasetJob(
            self.service,
            self.dataset,
            cache_root=self.cache_root,
            compare=self.compare_model or None,
            generation=self.generation_options() if self.generation_options else None,
            coalition_answers=self.coalition_answers,
            parent=self,
        )
        job.opened.connect(lambda _results, job=job: self._on_opened(job))
        job.failed.connect(lambda message, job=job: self._on_failed(job, message))
        self.job = job

    def set_compare_model(self, spec: str) -> None:
        """Compare every dataset with the model ``spec`` ("" for none); the dataset shown is
        analysed again with it (from the cache if this pair has been analysed before)."""
        if spec == self.compare_model:
            return
        self.compare_model = spec
        if self.dataset is not None:
            self.open_dataset(self.dataset)

    def set_coalition_answers(self, on: bool) -> None:
        """Answer under every coalition too (a generative model); the dataset shown is
        analysed again so (from the cache if it was before)."""
        if on == self.coalition_answers:
            return
        self.coalition_answers = on
        if self.dataset is not None:
            self.open_dataset(self.dataset)

    def cancel(self) -> None:
        if self.running:
            self.job.cancel()

    def _on_opened(self, job) -> None:
        if job is self.job:
            self.view.attach(job)
            # After the view's own handler: the checks take over its progress bar.
            job.finished.connect(lambda progress, job=job: self._on_finished(job, progress))

    def _on_finished(self, job, progress) -> None:
        """A dataset that finished gets its follow-up checks, in the same background lane."""
        if job is not self.job or progress is None or not progress.finished:
            return
        from mmstudio.gui.dataset.followup_job import ServiceFollowUpJob

        self.followup = ServiceFollowUpJob(self.service, job.results, parent=self)
        self.view.attach_followups(self.followup)

    def _on_failed(self, job, message: str) -> None:
        if job is self.job:
            self.view.status.setText(f"Analysis failed: {message}")
            self.show_error(f"the dataset could not be analysed: {message}")
