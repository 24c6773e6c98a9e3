"""The follow-up checks in the real window: once a dataset finishes, the swap test and the
faithfulness of the heatmaps run in the analysis service's background lane (a clicked row is
still answered between two steps), with progress and Cancel, and their results join the
summary panel and its JSON export beside the interactions per class."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from tests.core.analysis_data import write_dataset

pytestmark = pytest.mark.gui

COUNT = 14


def _finished_dataset(qtbot, window, data, events: list[str]):
    window.open_dataset(data)
    job = window.dataset_mode.job
    with qtbot.waitSignal(job.opened, timeout=120_000):
        pass
    job.finished.connect(lambda _p: events.append("dataset finished"))
    qtbot.waitUntil(lambda: window.dataset_mode.followup is not None, timeout=300_000)
    return window.dataset_mode.followup


def test_the_checks_follow_the_dataset_and_join_the_summary_and_its_export(qtbot, studio, tmp_path):
    window = studio
    events: list[str] = []
    window.service.result.connect(lambda _id, _a: events.append("row analysed"))
    followup = _finished_dataset(qtbot, window, write_dataset(tmp_path / "data", COUNT), events)
    view = window.dataset_mode.view
    stages: list[str] = []

    def click_a_row_once(progress) -> None:
        stages.append(progress.stage)
        if "row clicked" not in events and progress.done:
            events.append("row clicked")
            view.record_activated.emit(view.model.record(0))

    followup.progressed.connect(click_a_row_once)
    followup.finished.connect(lambda _s: events.append("checks finished"))
    qtbot.waitUntil(lambda: followup.done, timeout=300_000)
    assert events.index("dataset finished") < events.index("row clicked")
    # The click is answered between two steps of the checks, not after them.
    assert events.index("row clicked") < events.index("row analysed")
    assert events.index("row analysed") < events.index("checks finished")
    assert stages == sorted(stages, key=["swap test", "faithfulness"].index)
    assert set(stages) == {"swap test", "faithfulness"}

    summary = view.summary
    assert summary["faithfulness"]["measured"]
    assert set(summary["swap_test"]["modalities"]) == {"image", "text", "audio"}
    panel = view.summary_panel.aggregates
    followups = panel.followups
    assert followups.swaps.rowCount() == 3 and followups.faithfulness.rowCount() == 3
    image_row = [followups.swaps.item(r, 0).text() for r in range(3)].index("image")
    entry = summary["swap_test"]["modalities"]["image"]
    assert followups.swaps.item(image_row, 1).text() == str(entry["n"])
    assert followups.swaps.item(image_row, 2).text() == f"{entry['changed']:.0%}"
    assert "done" in followups.status.text()
    # Interactions per class: one row per class with records, and one for all of them.
    interactions = summary["interactions"]
    classes = [label for label, e in interactions["per_class"].items() if e["count"]]
    assert panel.interactions.rowCount() == len(classes) + 1
    overall = interactions["overall"]["pairs"]["image+audio"]["moebius"]
    column = panel.interactions.columns.index("image+audio") + 1
    assert panel.interactions.item(len(classes), column).text() == f"{overall:+.2f}"

    exported = json.loads(
        view.export_summary(tmp_path / "summary.json").read_text(encoding="utf-8")
    )
    assert exported["swap_test"] == summary["swap_test"]
    assert exported["faithfulness"]["modalities"].keys() == {"image", "text", "audio"}
    assert exported["interactions"]["pairs"] == ["image+text", "image+audio", "text+audio"]


def test_cancel_stops_the_checks_and_reopening_the_dataset_runs_them_again(qtbot, studio, tmp_path):
    window = studio
    data = write_dataset(tmp_path / "data", COUNT)
    followup = _finished_dataset(qtbot, window, data, [])
    view = window.dataset_mode.view
    assert view.cancel_button.isEnabled()
    with qtbot.waitSignal(followup.progressed, timeout=120_000):
        pass
    cancelled = []
    followup.cancelled.connect(lambda: cancelled.append(True))
    qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: followup.done, timeout=120_000)
    assert cancelled and followup.sections is None
    assert "cancelled" in view.summary_panel.aggregates.followups.status.text()
    assert "swap_test" not in view.summary and "faithfulness" not in view.summary
    assert not view.cancel_button.isEnabled()
    # From the cache: the rows are there at once, and the checks run on them again.
    again = _finished_dataset(qtbot, window, data, [])
    assert again is not followup
    qtbot.waitUntil(lambda: again.done, timeout=300_000)
    assert view.summary["swap_test"] == again.sections["swap_test"]
    assert "done (seed 0)" in view.summary_panel.aggregates.followups.status.text()
