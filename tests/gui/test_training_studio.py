"""The training studio through the real window: Training ▸ New Training Run… filled in like a
person would, the real `mmstudio train` comparison in its own process, curves that grow as its
metrics are written, a run stopped from the window (it keeps its best checkpoint and says
"stopped"), the comparison table once every run is over, and a click on a strategy opening its
best checkpoint in the studio. Closing the window during training asks; keeping it training
lets the next window reattach."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from mmstudio.studio_runs import VAL_ACCURACY, pid_alive
from tests.gui.training_runs import kill_driver, small_comparison

pytestmark = pytest.mark.gui

WAIT_MS = 240_000


def _fill_and_start(qtbot, window, settings, events) -> None:
    """Open the dialog with its shortcut's action and fill it in while it is shown (it is
    modal: the filling runs from the event loop the dialog's exec() spins)."""

    def fill() -> None:
        dialog = window.training.dialog
        events.append("dialog shown")
        dialog.data.setText(settings.data)
        for name, box in dialog.strategies.items():
            box.setChecked(name in settings.fusions)
        dialog.seeds.setValue(settings.seeds)
        dialog.epochs.setValue(settings.epochs)
        dialog.batch_size.setValue(settings.batch_size)
        dialog.dropout.setValue(settings.modality_dropout)
        dialog.device.setCurrentText(settings.device)
        dialog.model_settings.setText(" ".join(settings.model_settings))
        dialog.out.setText(settings.out)
        dialog.buttons.accepted.emit()

    QTimer.singleShot(0, fill)
    window.training_actions["new"].trigger()


def _mean_lengths(plot) -> dict[str, int]:
    return {fusion: _length(items.mean) for fusion, items in plot.items.items()}


def _length(item) -> int:
    steps = item.getData()[0]
    return 0 if steps is None else len(steps)


@pytest.fixture
def driver_pids():
    pids: list[int] = []
    yield pids
    for pid in pids:
        kill_driver(pid)


def test_a_comparison_trains_from_the_window_and_opens_in_the_studio(
    qtbot, window, tmp_path, driver_pids
):
    # Four epochs: the run stopped after its first still has three to go when the STOP comes.
    settings = small_comparison(tmp_path, fusions=("concat", "gated"), seeds=2, epochs=4)
    events: list[str] = []
    window.training.started.connect(lambda folder: events.append("started"))
    _fill_and_start(qtbot, window, settings, events)
    assert events == ["dialog shown", "started"]
    view = window.training.view
    assert window.training.shown and window.training_actions["show"].isChecked()
    driver_pids.append(view.reader.pid)
    finished: list[str] = []
    view.finished.connect(lambda reader: finished.append(str(reader.folder)))
    folder = Path(settings.out).resolve()
    assert view.reader.folder == folder
    # The dialog remembered its choices, but not the output folder (the next run needs a new one).
    again = window.training.settings
    assert again.fusions == ["concat", "gated"] and again.seeds == 2 and again.epochs == 4
    assert again.batch_size == 64 and int(window.settings.value("training/batch_size")) == 64
    assert window.settings.value("training/active") == str(folder)

    # Curves grow: the first strategy's mean gets a first evaluation, then more.
    lengths: list[int] = []

    def record_growth() -> None:
        length = _mean_lengths(view.accuracy).get("concat", 0)
        if not lengths or length != lengths[-1]:
            lengths.append(length)

    view.updated.connect(record_growth)
    qtbot.waitUntil(lambda: len(lengths) >= 2 and lengths[-1] >= 2, timeout=WAIT_MS)
    assert lengths == sorted(lengths) and lengths[-1] > lengths[0]
    assert _mean_lengths(view.loss).get("concat", 0) >= 1
    seed_line = view.accuracy.items["concat"].seeds["concat-seed0"]
    assert _length(seed_line) >= 2
    assert view.coalition.count() >= 1 and view.subset.items  # a coalition's curves too
    assert 0 < view.progress.value() < view.progress.maximum()

    # Stop one run from the list: the gated strategy's second seed, once it has an epoch.
    target = "gated-seed1"
    row = view.runs.run_ids.index(target)
    qtbot.waitUntil(lambda: len(view.reader.series(target, VAL_ACCURACY)) >= 1, timeout=WAIT_MS)
    view.runs.selectRow(row)
    assert view.stop_run.isEnabled()
    view.stop_run.click()
    assert (folder / target / "STOP").is_file()
    qtbot.waitUntil(lambda: view.reader.status[target].state == "stopped", timeout=WAIT_MS)
    assert "stopped" in view.runs.item(row, 1).text()

    # The end: every run is over, the table appears, the window forgets the active folder.
    qtbot.waitUntil(lambda: view.reader.finished, timeout=WAIT_MS)
    states = {run: status.state for run, status in view.reader.status.items()}
    assert states == {
        "concat-seed0": "done",
        "concat-seed1": "done",
        "gated-seed0": "done",
        "gated-seed1": "stopped",
    }
    assert view.table.isVisible() and view.table.table.rowCount() == 2
    assert not view.timer.isActive() and view.eta.text() == "finished"
    assert finished == [str(folder)]
    assert window.settings.value("training/active") == ""
    rows = {row.fusion: row for row in view.table.rows}
    assert rows["gated"].best_run.id == "gated-seed0" or (
        rows["gated"].checkpoint == folder / "gated-seed1" / "checkpoint"
    )  # the stopped run kept its checkpoint and may be the better one
    assert (folder / "gated-seed1" / "checkpoint" / "config.json").is_file()

    # A click on a strategy opens its best checkpoint in the studio.
    chosen = rows["gated"].checkpoint
    cell = view.table.table.visualItemRect(view.table.table.item(1, 0)).center()
    with qtbot.waitSignal(window.model_ready, timeout=120_000) as loaded:
        qtbot.mouseClick(view.table.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    assert Path(loaded.args[0].source) == chosen
    assert not window.training.shown and window.results_stack.currentWidget() is window.results
    assert json.loads((chosen / "config.json").read_text())["fusion"] == "gated"
    # The report's figures are in the table: the mean ± interval of test accuracy per strategy.
    headers = [
        view.table.table.horizontalHeaderItem(i).text()
        for i in range(view.table.table.columnCount())
    ]
    assert "test accuracy" in headers and "with image+text+audio" in headers
    column = headers.index("test accuracy")
    assert "±" in view.table.table.item(0, column).text()

    # Two strategies selected: side by side (Compare With), then on the test split.
    window.training.set_shown(True)
    table = view.table.table
    table.selectRow(0)
    table.selectionModel().select(
        table.model().index(1, 0),
        table.selectionModel().SelectionFlag.Select | table.selectionModel().SelectionFlag.Rows,
    )
    first, second = rows["concat"].checkpoint, rows["gated"].checkpoint
    assert view.table.side_by_side.isEnabled()
    with qtbot.waitSignal(window.model_ready, timeout=120_000) as loaded:
        view.table.side_by_side.click()
    assert Path(loaded.args[0].source) == first and window.compare.spec == str(second)
    window.training.set_shown(True)
    view.table.on_dataset.click()
    test_split = folder / "test-split"
    assert (test_split / "manifest.jsonl").is_file()
    assert window.dataset_mode.shown and window.dataset_mode.dataset == test_split
    assert window.dataset_mode.compare_model == str(second)
    job = window.dataset_mode.job
    with qtbot.waitSignal(job.finished, timeout=WAIT_MS):
        pass
    split_ids = [json.loads(line)["id"] for line in (test_split / "manifest.jsonl").open()]
    assert split_ids and job.last.total == len(split_ids)  # exactly the test records


def test_closing_during_training_asks_and_a_new_window_reattaches(
    qtbot, window, tmp_path, driver_pids, monkeypatch, tiny_model_dir
):
    from mmstudio.gui.shell.main_window import MainWindow
    from mmstudio.gui.training.training_mode import CloseChoice, TrainingMode

    settings = small_comparison(tmp_path, fusions=("late",), seeds=2, epochs=30)
    assert window.training.start(settings)
    pid = window.training.view.reader.pid
    driver_pids.append(pid)
    folder = str(Path(settings.out).resolve())
    asked: list[str] = []

    def answer(choice):
        def ask(self) -> CloseChoice:
            asked.append(choice.value)
            return choice

        return ask

    monkeypatch.setattr(TrainingMode, "ask_about_close", answer(CloseChoice.CANCEL))
    window.close()
    assert asked == ["cancel"] and window.isVisible()
    monkeypatch.setattr(TrainingMode, "ask_about_close", answer(CloseChoice.KEEP))
    window.close()
    assert asked == ["cancel", "keep"] and not window.isVisible()
    assert pid_alive(pid)  # training goes on without the window
    assert window.settings.value("training/active") == folder

    second = MainWindow(model=str(tiny_model_dir), device="cpu")
    qtbot.addWidget(second)
    with qtbot.waitSignal(second.model_ready, timeout=120_000):
        second.show()
    qtbot.waitUntil(lambda: second.training.shown, timeout=30_000)
    view = second.training.view
    assert str(view.reader.folder) == folder and view.watching
    qtbot.waitUntil(lambda: bool(view.accuracy.items), timeout=WAIT_MS)

    # This time stop it: the driver is asked to stop and finishes.
    monkeypatch.setattr(TrainingMode, "ask_about_close", answer(CloseChoice.STOP))
    second.close()
    assert asked[-1] == "stop" and Path(folder, "STOP").is_file()
    assert second.settings.value("training/active") == ""
    qtbot.waitUntil(lambda: not pid_alive(pid), timeout=WAIT_MS)
