"""The Dataset view inside the real window: File ▸ Open Dataset runs the analysis in the
window's analysis service (its background lane, the window's one model), a clicked row opens in
the single-sample view while the dataset goes on, and a dataset analysed before opens from the
cache at once."""

from __future__ import annotations

import pytest

from tests.core.analysis_data import BROKEN_IDS, write_dataset

pytestmark = pytest.mark.gui

# Thirty-odd batches of 32: a click made after the first one is answered long before the last.
COUNT = 1000


def _open(qtbot, window, data):
    window.open_dataset(data)
    job = window.dataset_mode.job
    with qtbot.waitSignal(job.opened, timeout=120_000):
        pass
    return job


def test_a_dataset_runs_in_the_window_and_a_clicked_row_is_answered_while_it_runs(
    qtbot, studio, tmp_path
):
    window = studio
    data = write_dataset(tmp_path / "data", count=COUNT)
    events: list[str] = []
    window.service.result.connect(lambda _id, _a: events.append("row analysed"))
    job = _open(qtbot, window, data)
    job.finished.connect(lambda _p: events.append("dataset finished"))
    view = window.dataset_mode.view
    assert window.dataset_mode.shown and window.dataset_actions.show.isChecked()
    assert window.results_stack.currentWidget() is view
    clicked = []

    def click_the_first_row(progress) -> None:
        # What a click on a table row emits; the view's own tests click real rows.
        if not clicked and progress.rows is not None and progress.rows.num_rows:
            clicked.append(progress.rows.slice(0, 1).to_pylist()[0])
            events.append("row clicked")
            view.record_activated.emit(clicked[0])
            # A dataset's files may be large: the click hands them to the file-loading pool,
            # and the row's inputs arrive from there (bundled examples are decoded at once).
            events.append(
                "row decoding" if window.inputs.record_loader.busy else "decoded in the click"
            )

    job.progressed.connect(click_the_first_row)
    qtbot.waitUntil(lambda: bool(clicked), timeout=120_000)
    record = clicked[0]
    # The row is now the single-sample view's input, analysed with its heatmaps.
    assert not window.dataset_mode.shown and window.results_stack.currentWidget() is window.results
    qtbot.waitUntil(
        lambda: window.inputs.text_input.text() == (record["text"] or ""), timeout=60_000
    )
    qtbot.waitUntil(lambda: "row analysed" in events, timeout=120_000)
    qtbot.waitUntil(lambda: "dataset finished" in events, timeout=300_000)
    # Interactive work waits for at most the batch in progress, never for the whole dataset.
    assert events.index("row clicked") < events.index("row decoding") < events.index("row analysed")
    assert events.index("row analysed") < events.index("dataset finished")
    analysis = window.results.analysis
    assert analysis.image_heatmap is not None and analysis.shapley
    assert job.last.done == COUNT + len(BROKEN_IDS) and job.last.finished


def test_reopening_a_dataset_with_the_same_model_shows_the_cached_rows_at_once(
    qtbot, studio, tmp_path
):
    window = studio
    data = write_dataset(tmp_path / "data", count=20)
    first = _open(qtbot, window, data)
    qtbot.waitUntil(lambda: first.done, timeout=300_000)
    total = 20 + len(BROKEN_IDS)
    second = _open(qtbot, window, data)
    assert second.results == first.results
    view = window.dataset_mode.view
    # Shown from the cache before the job does any work.
    assert view.model.rowCount() == total
    qtbot.waitUntil(lambda: second.done, timeout=120_000)
    assert second.last is None or second.last.resumed == total
    window.dataset_actions.show.trigger()  # Ctrl+D back to the single sample
    assert not window.dataset_mode.shown


def test_a_folder_that_is_not_a_dataset_says_why_in_the_banner(qtbot, studio, tmp_path):
    window = studio
    missing = tmp_path / "no-such-dataset"
    window.open_dataset(missing)
    job = window.dataset_mode.job
    qtbot.waitUntil(lambda: job.done, timeout=120_000)
    assert "does not exist" in window.dataset_mode.view.status.text()
    assert "no-such-dataset" in window.error_banner.text()
    assert window.service.analyzer is not None  # the model is still loaded and usable
