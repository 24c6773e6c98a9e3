"""Modality swaps in the real window with the shipped digits model: Analysis ▸ Swap Modality
runs the swap through the real Analyzer in the analysis service, and the side-by-side dock
shows before and after with the verdict."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtWidgets import QFileDialog

from mmstudio.gui.inputs.examples import Example
from mmstudio.resources import samples_dir
from tests.core.analysis_data import write_dataset
from tests.gui.test_main_window import analysed

pytestmark = pytest.mark.gui
TIMEOUT = 60_000


def _seven(qtbot, window):
    """The digits example image of a 7 with the text "seven": the model answers 7."""
    example = Example("a seven", samples_dir() / "digit_7.png", None, "seven", "7", "")
    return analysed(qtbot, window, lambda: window.inputs.load_example(example))


def _swapped(qtbot, window, action):
    """Run ``action`` and wait until the panel shows the swap it started."""
    outcomes = []
    window.swaps.swapped.connect(outcomes.append)
    action()
    qtbot.waitUntil(lambda: bool(outcomes), timeout=TIMEOUT)
    panel = window.side_by_side.panel
    qtbot.waitUntil(lambda: not panel.is_rendering(), timeout=TIMEOUT)
    return outcomes[-1]


def test_swapping_in_another_digit_from_a_file_changes_the_prediction(
    qtbot, studio, tmp_path, monkeypatch
):
    window = studio
    assert _seven(qtbot, window).predicted_label == "7"
    three = tmp_path / "three.png"
    shutil.copyfile(samples_dir() / "digit_3.png", three)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(three), ""))
    assert not window.side_by_side.isVisible()
    # The real menu item, as a person would choose it.
    outcome = _swapped(qtbot, window, window.swaps.file_actions["image"].trigger)
    assert outcome.before.predicted_label == "7" and outcome.after.predicted_label == "3"
    assert outcome.changed and outcome.follows
    panel = window.side_by_side.panel
    assert window.side_by_side.isVisible() and panel.kind == "swap"
    assert panel.verdict.text() == (
        "Swapping the image changed the prediction from 7 to 3: it followed the image."
    )
    assert panel.left.title.text() == "Before"
    assert panel.right.title.text() == "After: image from three.png"
    assert panel.left.prediction.headline.text() == "7"
    assert panel.right.prediction.headline.text() == "3"
    for column, analysis in ((panel.left, outcome.before), (panel.right, outcome.after)):
        rows = column.contributions.shapley_rows()
        assert rows["image"] == f"{analysis.shapley['image']:+.2f}"
        matrix = column.contributions.interactions.matrix()
        pair = analysis.interactions["shapley_interaction"]["image+text"]
        assert matrix["image", "text"] == f"{pair:+.2f}"
        assert column.image_map.has_map() and column.text_map.has_map()
        assert not column.audio_map.isVisible()  # no audio in this sample: no room for it
    # The heatmaps look as they do in the results panel.
    assert panel.left.image_map.overlay.opacity() == pytest.approx(window.results.opacity)
    # The swap explained the sample; the inputs and the main result are still the 7.
    assert window.inputs.image_input.source_name == "digit_7.png"
    assert window.results.prediction.headline.text() == "7"


def test_audio_swapped_in_from_an_example_gets_a_map_only_where_it_was_analysed(qtbot, studio):
    window = studio
    _seven(qtbot, window)
    example = next(e for e in window.examples if e.name == "outvoted speech")  # speech: 3
    submenu = {a.text(): a for a in window.swaps.example_menus["audio"].actions()}
    outcome = _swapped(qtbot, window, submenu[example.name].trigger)
    panel = window.side_by_side.panel
    assert outcome.before.present == ["image", "text"]
    assert outcome.after.present == ["image", "text", "audio"]
    assert panel.right.title.text() == f"After: audio from the example “{example.name}”"
    # Both columns keep a place for the audio, so the maps stay level; only one has a map.
    assert panel.left.audio_map.isVisible() and panel.right.audio_map.isVisible()
    assert not panel.left.audio_map.has_map() and panel.right.audio_map.has_map()
    assert panel.verdict.text() == outcome.verdict()


def test_the_side_by_side_dock_closes_and_comes_back_with_its_shortcut(qtbot, studio):
    window = studio
    dock = window.side_by_side
    assert dock.toggle_action.shortcut().toString() == "Ctrl+B"
    assert window.swaps.keep_action.shortcut().toString() == "Ctrl+K"
    assert window.swaps.undo_action.shortcut().toString() == "Ctrl+Shift+K"
    dock.toggle_action.trigger()
    assert dock.isVisible() and dock.built
    assert dock.panel.placeholder.isVisible()  # nothing compared yet: says how to start
    dock.close()
    assert not dock.isVisible() and not dock.toggle_action.isChecked()
    dock.toggle_action.trigger()
    assert dock.isVisible()


def test_keeping_the_swapped_sample_makes_it_the_input_and_undo_brings_back_the_original(
    qtbot, studio
):
    window = studio
    _seven(qtbot, window)
    swaps = window.swaps
    assert not swaps.keep_action.isEnabled() and not swaps.undo_action.isEnabled()
    _swapped(qtbot, window, lambda: swaps.swap_file(samples_dir() / "digit_3.png", "image"))
    assert swaps.keep_action.isEnabled()
    kept = analysed(qtbot, window, swaps.keep_action.trigger)
    assert kept.predicted_label == "3"
    assert window.inputs.image_input.source_name == "swapped in from digit_3.png"
    assert window.inputs.text_input.text() == "seven"
    # The Before column still shows the original while the swapped sample is the input.
    assert window.side_by_side.panel.left.prediction.headline.text() == "7"
    assert swaps.undo_action.isEnabled() and not swaps.keep_action.isEnabled()
    restored = analysed(qtbot, window, swaps.undo_action.trigger)
    assert restored.predicted_label == "7"
    # Batched (the swap) and single analyses differ only by float rounding.
    assert restored.probabilities.tolist() == pytest.approx(
        window.swaps.outcome.before.probabilities.tolist(), abs=1e-6
    )


def test_a_donor_without_that_modality_or_an_empty_sample_is_explained(qtbot, studio):
    window = studio
    swaps = window.swaps
    submitted = []
    original = window.service.submit_job
    window.service.submit_job = lambda *a, **k: submitted.append(a) or original(*a, **k)
    # Nothing to swap into yet.
    assert swaps.swap_file(samples_dir() / "digit_3.png", "image") is None
    assert "The current sample is empty" in window.error_banner.text()
    _seven(qtbot, window)
    record = {"id": "r7", "image_path": None, "audio_path": None, "text": "seven"}
    assert swaps.swap_record(record, "audio", "digits-test") is None
    assert "Record r7 of digits-test has no audio to swap in" in window.error_banner.text()
    assert submitted == []  # refused before any work went to the analysis thread
    # An example without the modality is listed under Swap … From Example, but not offered.
    offered = {}
    for modality, menu in swaps.example_menus.items():
        for example, action in zip(window.examples, menu.actions(), strict=True):
            has = getattr(example, modality) is not None
            offered[example.name, modality] = action.isEnabled()
            assert action.isEnabled() == has
            assert action.text() == (example.name if has else f"{example.name}  (no {modality})")
    assert offered["speech only", "audio"] and not offered["speech only", "image"]


def test_a_file_that_cannot_be_read_is_reported_and_the_window_goes_on(qtbot, studio, tmp_path):
    window = studio
    _seven(qtbot, window)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    window.swaps.swap_file(broken, "image")
    qtbot.waitUntil(lambda: "broken.png" in window.error_banner.text(), timeout=TIMEOUT)
    assert "The swap did not run" in window.side_by_side.panel.verdict.text()
    assert window.results.prediction.headline.text() == "7"


def test_a_dataset_row_is_swapped_in_from_its_context_menu(qtbot, studio, tmp_path):
    window = studio
    _seven(qtbot, window)
    window.open_dataset(write_dataset(tmp_path / "data", count=40, broken=False))
    job = window.dataset_mode.job
    with qtbot.waitSignal(job.opened, timeout=120_000):
        pass
    view = window.dataset_mode.view
    qtbot.waitUntil(lambda: view.model.rowCount() == 40, timeout=120_000)
    # The row's context menu, as a right click opens it: a 3 whose record has an image.
    records = [view.model.record(i) for i in range(view.model.rowCount())]
    row = next(i for i, r in enumerate(records) if r["label"] == "3" and r["image_path"])
    record = records[row]
    actions = {a.text(): a for a in view.swap_menu(row).actions()}
    for modality, key in (("text", "text"), ("audio", "audio_path")):
        offered = actions[f"Swap this record's {modality} into the current sample"]
        assert offered.isEnabled() == bool(record[key])
    outcome = _swapped(
        qtbot, window, actions["Swap this record's image into the current sample"].trigger
    )
    panel = window.side_by_side.panel
    assert panel.right.title.text() == f"After: image from record {record['id']} of data"
    assert outcome.before.predicted_label == "7" and panel.verdict.text() == outcome.verdict()
    assert panel.right.prediction.headline.text() == outcome.after.predicted_label
    # The record's own image went in, read from its file; its text and audio did not.
    from PIL import Image

    with Image.open(record["image_path"]) as donor:
        assert outcome.sample.image.size == donor.size
    assert outcome.sample.text == "seven" and outcome.sample.audio is None
