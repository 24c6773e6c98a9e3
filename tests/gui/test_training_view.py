"""The training view's curves on a comparison folder written here line by line (the real
driver's files are exercised in test_training_studio.py): the mean and band items hold the
reader's numbers, the band switches between the 95% interval and min–max, a seed's line
comes forward under the pointer, and Stop Run / Stop All write the STOP files."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPointF

from mmstudio.studio_runs import VAL_ACCURACY
from tests.core.test_studio_runs import _append, _eval, _plan

pytestmark = pytest.mark.gui


@pytest.fixture
def view(qtbot):
    from mmstudio.gui.training.view import TrainingView

    widget = TrainingView()
    widget.resize(1200, 800)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_curves_hold_the_readers_bands_and_grow(qtbot, view, tmp_path):
    _plan(tmp_path, fusions=("concat", "late"), seeds=(0, 1))
    view.watch(tmp_path)
    assert view.reader.plan is not None and view.runs.rowCount() == 4
    for seed, accuracy in ((0, 0.6), (1, 0.8)):
        _append(tmp_path / f"concat-seed{seed}" / "metrics.jsonl", _eval(5, accuracy))
    view.poll()
    items = view.accuracy.items["concat"]
    x, y = items.mean.getData()
    assert list(x) == [5] and list(y) == pytest.approx([0.7])
    assert view.band_kind.currentText() == "min–max"
    assert list(items.lower.getData()[1]) == pytest.approx([0.6])
    assert list(items.upper.getData()[1]) == pytest.approx([0.8])
    view.band_kind.setCurrentText("95% interval")
    band = view.reader.band("concat", VAL_ACCURACY)
    assert band.ci_low[0] < 0 and band.ci_high[0] > 1  # two seeds: t(0.975, 1) = 12.7
    # Drawn within where an accuracy can lie.
    assert list(items.lower.getData()[1]) == [0.0] and list(items.upper.getData()[1]) == [1.0]
    _append(tmp_path / "concat-seed0" / "metrics.jsonl", _eval(10, 0.9))
    view.poll()
    assert len(items.mean.getData()[0]) == 2 and len(items.seeds["concat-seed0"].getData()[0]) == 2
    assert view.coalition.currentText() == "image" and view.subset.items["concat"]


def test_the_pointer_near_a_seeds_line_brings_it_forward(qtbot, view, tmp_path):
    _plan(tmp_path, fusions=("gated",), seeds=(0, 1))
    view.watch(tmp_path)
    for step, low, high in ((5, 0.2, 0.7), (10, 0.3, 0.9)):
        _append(tmp_path / "gated-seed0" / "metrics.jsonl", _eval(step, low))
        _append(tmp_path / "gated-seed1" / "metrics.jsonl", _eval(step, high))
    view.poll()
    plot = view.accuracy
    box = plot.plotItem.vb
    # The view takes in the data when it is next painted.
    qtbot.waitUntil(lambda: box.viewRange()[0][1] >= 10 and box.viewRange()[1][1] >= 0.9)
    plot._hover(box.mapViewToScene(QPointF(7.5, 0.8)))
    assert plot.highlighted == "gated, seed 1" and plot.hover_label.isVisible()
    plot._hover(box.mapViewToScene(QPointF(7.5, 0.25)))
    assert plot.highlighted == "gated, seed 0"
    plot._hover(box.mapViewToScene(QPointF(7.5, 0.5)))  # between the lines: none
    assert plot.highlighted is None and not plot.hover_label.isVisible()


def test_stop_buttons_write_the_stop_files(qtbot, view, tmp_path):
    _plan(tmp_path, fusions=("late",), seeds=(0, 1))
    (tmp_path / "late-seed0").mkdir(exist_ok=True)
    (tmp_path / "late-seed0" / "status.json").write_text(json.dumps({"state": "running"}))
    view.watch(tmp_path)
    assert view.stop_all.isEnabled() and not view.stop_run.isEnabled()
    view.runs.selectRow(0)
    assert view.stop_run.isEnabled()
    view.stop_run.click()
    assert (tmp_path / "late-seed0" / "STOP").is_file()
    assert not (tmp_path / "late-seed1" / "STOP").exists()
    view.stop_all.click()
    assert (tmp_path / "STOP").is_file() and not view.stop_all.isEnabled()


def test_the_dialog_says_what_is_wrong_before_anything_starts(qtbot, tmp_path):
    from mmstudio.gui.training.dialog import NewTrainingDialog
    from mmstudio.studio_runs import TrainingSettings
    from tests.core.analysis_data import write_dataset

    dialog = NewTrainingDialog(TrainingSettings(data=str(tmp_path / "missing")))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.out.setText(str(tmp_path / "out"))
    dialog.buttons.accepted.emit()
    # The message `mmstudio analyze` gives for the same folder.
    assert dialog.error.isVisible() and "the dataset folder does not exist" in dialog.error.text()
    assert dialog.chosen() is None and dialog.isVisible()
    data = write_dataset(tmp_path / "data", count=30, broken=False)
    dialog.data.setText(str(data))
    for box in dialog.strategies.values():
        box.setChecked(False)
    dialog.buttons.accepted.emit()
    assert "choose at least one fusion strategy" in dialog.error.text()
    dialog.strategies["tensor"].setChecked(True)
    dialog.buttons.accepted.emit()
    chosen = dialog.chosen()
    assert chosen is not None and chosen.fusions == ["tensor"] and not dialog.isVisible()
    assert not (tmp_path / "out").exists()  # the dialog checks; the driver writes
