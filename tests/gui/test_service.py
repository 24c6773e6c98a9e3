"""The analysis service's lanes on a real model: a background batch yields to interactive
requests, jobs report progress, results, errors and cancellation, and live mode shares the
window's model."""

from __future__ import annotations

import time

import pytest

from mmstudio.inputs import make_sample
from tests.gui.helpers import digit_image

pytestmark = pytest.mark.gui
TIMEOUT = 60_000


@pytest.fixture
def service(qtbot, tiny_model_dir):
    from mmstudio.gui.service import AnalysisService

    service = AnalysisService()
    with qtbot.waitSignal(service.model_loaded, timeout=120_000):
        service.load_model(str(tiny_model_dir), "cpu")
    yield service
    assert service.shutdown()


def batches_job(events: list, steps: int, pause_s: float = 0.05):
    """A dataset-like job: each step analyses a batch of four samples."""
    samples = [make_sample(image=digit_image(str(i)), text=f"number {i}") for i in range(4)]

    def start(analyzer):
        for step in range(steps):
            events.append(("step", step))
            analyzer.analyze_batch(samples)
            time.sleep(pause_s)  # a bigger batch, as a dataset would have
            yield (step + 1) / steps
        return f"{steps} batches"

    return start


def test_an_interactive_request_during_a_batch_is_answered_before_the_batch_ends(qtbot, service):
    order: list = []
    steps = 30
    service.job_progress.connect(lambda job_id, fraction: order.append(("progress", fraction)))
    service.result.connect(lambda request_id, analysis: order.append(("result", request_id)))
    service.job_returned.connect(lambda job_id, value: order.append(("returned", value)))
    job_id = service.submit_job(batches_job([], steps), name="dataset")
    qtbot.waitUntil(lambda: any(kind == "progress" for kind, _ in order), timeout=TIMEOUT)
    request_id = service.request_analysis(make_sample(text="seven"))
    with qtbot.waitSignal(service.job_finished, timeout=TIMEOUT, check_params_cb=job_id.__eq__):
        pass
    kinds = [kind for kind, _ in order]
    assert ("result", request_id) in order and ("returned", f"{steps} batches") in order
    answered = order.index(("result", request_id))
    assert answered < kinds.index("returned")
    # Answered between two batches, long before the last one.
    assert kinds[:answered].count("progress") < steps - 5
    progress = [value for kind, value in order if kind == "progress"]
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_a_job_for_the_sample_on_screen_overtakes_a_running_batch_job(qtbot, service):
    """A swap or a comparison (``front=True``) runs between two batches of a dataset job,
    which then goes on from where it was."""
    from mmstudio.gui.service.job_calls import JobCalls, one_step

    order: list = []
    steps = 30
    service.job_progress.connect(lambda job_id, value: order.append(("progress", value)))
    dataset = service.submit_job(batches_job([], steps), name="dataset")
    qtbot.waitUntil(lambda: bool(order), timeout=TIMEOUT)
    calls = JobCalls(service)
    calls.submit(
        one_step(lambda analyzer: analyzer.analyze(make_sample(text="seven")).predicted_label),
        "swap",
        lambda label: order.append(("front job", label)),
        lambda message: order.append(("failed", message)),
    )
    with qtbot.waitSignal(service.job_finished, timeout=TIMEOUT, check_params_cb=dataset.__eq__):
        pass
    kinds = [kind for kind, _ in order]
    assert kinds.count("front job") == 1 and "failed" not in kinds
    assert kinds.index("front job") < steps - 5  # between two batches, long before the last
    progress = [value for kind, value in order if kind == "progress"]
    assert len(progress) == steps and progress == sorted(progress)


def test_a_job_can_be_cancelled_between_steps(qtbot, service):
    events: list = []
    outcome: list = []
    service.job_cancelled.connect(lambda job_id: outcome.append(("cancelled", job_id)))
    service.job_returned.connect(lambda job_id, value: outcome.append(("returned", job_id)))
    job_id = service.submit_job(batches_job(events, 100), name="dataset")
    with qtbot.waitSignal(service.job_progress, timeout=TIMEOUT):
        pass
    assert service.cancel_job(job_id)
    with qtbot.waitSignal(service.job_finished, timeout=TIMEOUT):
        pass
    assert outcome == [("cancelled", job_id)]
    assert len(events) < 100


def test_a_failing_job_reports_a_message_and_the_service_goes_on(qtbot, service):
    def start(analyzer):
        yield 0.5
        raise ValueError("record 7 has no image")

    failures: list = []
    service.job_failed.connect(lambda job_id, message: failures.append(message))
    with qtbot.waitSignal(service.job_finished, timeout=TIMEOUT):
        service.submit_job(start, name="dataset analysis")
    assert failures and "dataset analysis failed" in failures[0] and "record 7" in failures[0]
    with qtbot.waitSignal(service.result, timeout=TIMEOUT):
        service.request_analysis(make_sample(text="seven"))


def test_live_mode_and_the_studio_use_the_same_model_object(qtbot, window):
    analyzer = window.service.analyzer
    panel = window.live
    assert panel.service is window.service
    panel.session.camera_choice = panel.session.microphone_choice = None
    window.inputs.text_input.set_text("seven")
    shown: list = []
    panel.session.result_shown.connect(lambda result, latency: shown.append(result))
    window.live_action.trigger()
    try:
        qtbot.waitUntil(lambda: any(r.analysis is not None for r in shown), timeout=TIMEOUT)
    finally:
        window.live_action.trigger()
    assert window.service.analyzer is analyzer  # nothing was loaded for live mode
    assert window.service.live_runs >= 1
    assert window.service.lanes.latest_load_id == 1  # the window's own load, and no other
    assert shown[-1].analysis.model_name == window.presenter.model_info.name


def test_out_of_memory_on_an_accelerator_moves_the_model_to_the_cpu(qtbot, service, monkeypatch):
    """Whichever lane hit it: the model moves to the CPU once and the request is answered."""
    import torch

    analyzer = service.analyzer
    real_analyze = type(analyzer).analyze
    calls: list[str] = []

    def analyze_on(self, sample):
        calls.append(self.device.type)
        if self.device.type != "cpu":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_analyze(self, sample)

    monkeypatch.setattr(type(analyzer), "analyze", analyze_on)
    # Stands in for a GPU: the code path only asks the device its type.
    monkeypatch.setattr(analyzer, "device", torch.device("cuda"))
    fallbacks: list[str] = []
    service.device_fallback.connect(fallbacks.append)
    moved: list = []
    service.model_loaded.connect(lambda request_id, info: moved.append(info))
    with qtbot.waitSignal(service.result, timeout=TIMEOUT) as answered:
        service.request_analysis(make_sample(text="seven"))
    assert calls == ["cuda", "cpu"]
    assert list(answered.args[1].present) == ["text"]
    assert fallbacks and "CPU" in fallbacks[0]
    assert moved and moved[-1].device_type == "cpu"
    assert service.analyzer is not analyzer and service.analyzer.device.type == "cpu"
    assert service.analyzer.model is analyzer.model  # moved, not loaded again


def test_the_worker_leaves_the_process_warning_filters_alone(qtbot, tiny_model_dir):
    import warnings

    from mmstudio.gui.service import AnalysisService

    before = (warnings.showwarning, list(warnings.filters))
    service = AnalysisService()
    try:
        with qtbot.waitSignal(service.model_loaded, timeout=120_000):
            service.load_model(str(tiny_model_dir), "cpu")
        assert (warnings.showwarning, list(warnings.filters)) == before
    finally:
        assert service.shutdown()


def test_the_first_load_lists_the_models_only_after_the_model_is_ready(
    qtbot, tiny_model_dir, monkeypatch
):
    """Listing imports every backend and checks its cache; the first analysis should not wait
    for that, so the Model menu is filled after the load."""
    from mmstudio.gui.service import AnalysisService
    from mmstudio.models import registry

    order: list[str] = []  # the signals, in the GUI thread
    listings: list[str] = []  # the worker's listings, and what it had done by then
    service = AnalysisService()
    real_list = registry.list_models

    def listing():
        listings.append(f"model {'loaded' if service.analyzer else 'not loaded'}")
        return real_list()

    monkeypatch.setattr(registry, "list_models", listing)
    service.model_loaded.connect(lambda *_: order.append("model_loaded"))
    service.models_listed.connect(lambda entries: order.append("models_listed"))
    try:
        with qtbot.waitSignal(service.models_listed, timeout=120_000) as listed:
            service.load_model(str(tiny_model_dir), "cpu")
        assert order == ["model_loaded", "models_listed"]
        assert listings == ["model loaded"]
        assert "digits" in [entry.name for entry in listed.args[0]]
        with qtbot.waitSignal(service.model_loaded, timeout=120_000):
            service.load_model(str(tiny_model_dir), "cpu")
        assert listings == ["model loaded"]  # listed once per window
    finally:
        assert service.shutdown()
