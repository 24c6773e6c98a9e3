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
    window.text_input.set_text("seven")
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
    assert shown[-1].analysis.model_name == window.model_info.name
