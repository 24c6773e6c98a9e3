"""What the analysis service reports, shown in the window: results, errors, model loads, latency.

The presenter sends the studio's sample to the window's one :class:`AnalysisService` and
records each request in the studio's request ledger; the ledger decides which result is shown
and which error still counts. Results go to the :class:`ResultsPanel`, problems to the error
banner, a model's progress, busy state and latency to the status bar. It owns no widget: the
window builds them and hands them over.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from mmstudio.gui.common.unavailable import unavailable_html, unavailable_label
from mmstudio.gui.results.results_panel import ResultsPanel
from mmstudio.gui.service import AnalysisService, ModelInfo
from mmstudio.gui.shell.banner import Banner
from mmstudio.gui.shell.status_bar import StudioStatusBar
from mmstudio.models.registry import ModelEntry
from mmstudio.result import GenerationAnalysis
from mmstudio.studio import Studio

__all__ = ["AnalysisPresenter"]


class AnalysisPresenter(QObject):
    """Signals, for the window's menus and docks:

    - ``model_ready(ModelInfo)``: the latest model asked for is loaded and in use;
    - ``result_shown(Analysis, Sample)``: a result is on screen (it can be exported, compared);
    - ``result_cleared()``: the inputs went empty, so nothing is analysed any more;
    - ``generating_changed(bool)``: a generative model's answer is (no longer) being generated
      (what Stop is enabled by).

    A generative model's requests carry ``generation_options()``; its tokens go to the results
    panel as they come, for the newest request only.
    """

    model_ready = Signal(object)
    result_shown = Signal(object, object)
    result_cleared = Signal()
    generating_changed = Signal(bool)

    def __init__(
        self,
        studio: Studio,
        service: AnalysisService,
        results: ResultsPanel,
        status: StudioStatusBar,
        banners: tuple[Banner, Banner],
        paused: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        """``banners`` are (error, notice); ``paused`` says when no analysis may be sent (the
        window is closing, or live mode analyses instead)."""
        super().__init__(parent)
        self.studio = studio
        self.service = service
        self.results = results
        self.status = status
        self.error_banner, self.notice_banner = banners
        self._paused = paused
        self.model_info: ModelInfo | None = None
        # An example about another model holds its analysis until that model is loaded: the
        # model in use would answer it (a classifier labelling a question) only to be replaced.
        self._held_for_load = False
        # The window's Generation options (GenerationOptions), asked at every request.
        self.generation_options: Callable[[], object] | None = None
        self._generating = False
        service.started.connect(self._on_analysis_started)
        service.result.connect(self._on_analysis_result)
        service.error.connect(self._on_service_error)
        service.progress.connect(self._on_progress)
        service.model_loaded.connect(self._on_model_loaded)
        service.model_unavailable.connect(self._on_model_unavailable)
        service.device_fallback.connect(self.show_error)
        service.token_streamed.connect(self._on_tokens)
        studio.inputs_changed.connect(lambda _modality: self.request_analysis())

    # Model loads

    def load_model(self, spec: str) -> None:
        """Load ``spec`` on the studio's device; the current model stays in use meanwhile."""
        self.service.load_model(spec, self.studio.device)
        self.status.set_busy(True)
        if self.model_info is None:
            self.results.show_placeholder("Loading the model…")

    def hold_until_loaded(self) -> None:
        """Send no analysis until the model being loaded now is in use (or failed to load)."""
        self._held_for_load = True

    def _release_hold(self) -> None:
        if self._held_for_load:
            self._held_for_load = False
            self.request_analysis()

    @property
    def generates(self) -> bool:
        return self.model_info is not None and self.model_info.generates

    def _on_model_loaded(self, request_id: int, info: ModelInfo) -> None:
        if request_id != self.service.latest_load_id:
            return
        self.model_info = info
        self._set_busy(False)
        self.notice_banner.hide()
        self.status.show_model(info)
        self.status.bar.showMessage(f"Model {info.name} ready on {info.device}", 5000)
        self.model_ready.emit(info)
        if not self.results.has_result():
            self.results.show_placeholder(self.studio.idle_reason())
        self._held_for_load = False
        self.request_analysis()

    def _on_model_unavailable(self, request_id: int, entry: ModelEntry) -> None:
        if request_id != self.service.latest_load_id:
            return
        self.status.set_busy(False)
        self.notice_banner.show_message(unavailable_html(entry))
        kept = f" · still using {self.model_info.name}" if self.model_info else ""
        self.status.model_label.setText(f"Model: {entry.name} ({unavailable_label(entry)}){kept}")
        if self.model_info is None:
            self.results.show_placeholder("No trained model is loaded.\nSee the message above.")
        self._release_hold()  # the model in use answers, as the banner above says

    def _on_progress(self, request_id: int, message: str, fraction: float) -> None:
        if request_id != self.service.latest_load_id:
            return
        self.status.show_progress(message, fraction)
        if self.model_info is None and fraction < 1.0:
            self.results.show_placeholder(message)

    # Analyses

    def request_analysis(self) -> int | None:
        """Ask the worker to analyse the current inputs; returns the request id, if one was sent."""
        if self.studio.in_batch or self._paused() or self._held_for_load:
            return None
        if self.model_info is None:
            return None  # requested again once the model is loaded
        sample = self.studio.sample()
        if not sample.present:
            self.service.cancel_pending()
            self.studio.requests.cancel_all(self.service.latest_analysis_id)
            self._set_busy(False)
            self.results.show_placeholder(self.studio.idle_reason())
            self.result_cleared.emit()
            return None
        if self.generates and self.generation_options is not None:
            request_id = self.service.request_analysis(sample, self.generation_options())
        else:
            request_id = self.service.request_analysis(sample)
        self.studio.requests.sent(request_id, sample)
        self._set_busy(True)
        return request_id

    def stop_generation(self) -> None:
        """Stop the answer being generated; what it said so far is shown, not explained."""
        if self._generating:
            self.service.stop_generation()
            self.status.bar.showMessage("Stopping the answer…", 3000)

    def _set_busy(self, busy: bool) -> None:
        self.status.set_busy(busy)
        generating = busy and self.generates
        if generating != self._generating:
            self._generating = generating
            self.generating_changed.emit(generating)

    def _on_tokens(self, request_id: int, _index: int, streamed) -> None:
        requests = self.studio.requests
        if request_id != requests.latest_id or request_id <= requests.shown_id:
            return  # a stale generation's last tokens, or one whose result is on screen
        request = requests.pending(request_id)
        self.results.show_stream(streamed.pieces, request.sample if request else None)

    def _on_analysis_started(self, request_id: int) -> None:
        if request_id == self.service.latest_analysis_id:
            self.status.bar.showMessage("Generating…" if self.generates else "Analysing…")

    def _on_analysis_result(self, request_id: int, analysis) -> None:
        requests = self.studio.requests
        request = requests.accept_result(request_id)
        if request is None:
            return  # cancelled (the inputs went empty) or older than what is shown
        example = self.studio.example
        self.results.show_analysis(
            analysis,
            request.sample,
            example.expected if example else None,
            example.note if example else "",
            request_id,
        )
        if requests.clears_error(request_id):
            self.error_banner.hide()
        self._set_busy(requests.busy)
        self.result_shown.emit(analysis, request.sample)
        elapsed = (time.perf_counter() - request.sent_at) * 1000.0
        self.status.show_latency(elapsed, analysis.timings_ms)
        self.status.bar.showMessage(_outcome(analysis), 5000)

    # Errors

    def _on_service_error(self, request_id: int, message: str) -> None:
        if request_id == self.service.latest_load_id:
            self.status.set_busy(False)
            kept = (
                f" The previous model ({self.model_info.name}) is still in use."
                if self.model_info
                else ""
            )
            self.show_error(f"The model could not be loaded: {message}.{kept}")
            if self.model_info is None:
                self.status.model_label.setText("Model: none loaded")
                self.results.show_placeholder("No model is loaded.\nChoose one in the Model menu.")
            self._release_hold()
            return
        if not self.studio.requests.accept_error(request_id):
            return  # a newer request is on its way; its own outcome is what counts
        self._set_busy(False)
        self.show_error(message)

    def show_error(self, message: str) -> None:
        """Show a problem inline; whatever result is on screen stays there."""
        self.studio.requests.error_shown()
        text = _sentence(message)
        self.error_banner.show_message(html.escape(text))
        self.status.bar.showMessage(text, 10000)


def _outcome(analysis) -> str:
    """What the status bar says of a result."""
    if isinstance(analysis, GenerationAnalysis):
        count = analysis.token_count
        tokens = f"{count} token{'s' * (count != 1)}"
        return (
            f"Stopped after {tokens}" if analysis.finished == "stopped" else f"Answered in {tokens}"
        )
    return f"Predicted {analysis.predicted_label} ({analysis.confidence:.0%})"


def _sentence(message: str) -> str:
    """Capitalised, unless it starts with a file name ("broken.png: …" must stay as the file is named)."""
    head, colon, _ = message.partition(":")
    if colon and " " not in head:
        return message
    return message[:1].upper() + message[1:]
