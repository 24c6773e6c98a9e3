"""The Dataset view driven as a person would: run an analysis, watch it progress, filter,
click a confusion cell, select on the embedding map, open a row, export."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from tests.conftest import require_module, require_or_skip
from tests.core.analysis_data import BROKEN_IDS, write_dataset

torch = require_module("torch")

pytestmark = pytest.mark.gui


@pytest.fixture
def service(qtbot):
    """The window's analysis service on the shipped digits model: the dataset runs in its
    background lane exactly as the window runs it."""
    from mmstudio.gui.service import AnalysisService
    from mmstudio.models.registry import get_entry

    require_or_skip(get_entry("digits").available, "the shipped digits weights are missing")
    service = AnalysisService()
    with qtbot.waitSignal(service.model_loaded, timeout=120_000):
        service.load_model("digits", "cpu")
    yield service
    assert service.shutdown()


def start_job(service, view, data, cache, batch_size=4):
    """Submit the real ServiceDatasetJob; the view attaches once its results folder is known,
    as the window's Dataset mode does. Returns the job and the Progress it reports, in order."""
    from mmstudio.gui.dataset.service_job import ServiceDatasetJob

    job = ServiceDatasetJob(service, data, cache_root=cache, batch_size=batch_size)
    progressed = []
    # Connected before the event loop runs again: no step's signal can come before these.
    job.opened.connect(lambda _results: view.attach(job))
    job.progressed.connect(progressed.append)
    return job, progressed


@pytest.fixture
def finished_view(qtbot, service, tmp_path):
    from mmstudio.gui.dataset import DatasetView

    data = write_dataset(tmp_path / "data", count=40)
    view = DatasetView()
    qtbot.addWidget(view)
    view.resize(1200, 900)
    view.show()
    job, progressed = start_job(service, view, data, tmp_path / "cache")
    with qtbot.waitSignal(job.finished, timeout=300_000):
        pass
    assert job.results.parent == tmp_path / "cache" and job.done
    return view, progressed


def _click_cell(qtbot, view, row: int, column: int) -> None:
    panel = view.summary_panel
    scene_point = panel.confusion.mapToScene(QPointF(column + 0.5, row + 0.5))
    widget_point = panel.confusion_plot.mapFromScene(scene_point)
    qtbot.mouseClick(panel.confusion_plot.viewport(), Qt.MouseButton.LeftButton, pos=widget_point)


def test_the_view_follows_the_run_and_shows_every_row(finished_view):
    view, progressed = finished_view
    total = 40 + len(BROKEN_IDS)
    done = [p.done for p in progressed]
    assert done == sorted(done) and done[-1] == total and len(done) > 2
    assert view.progress.value() == view.progress.maximum() == total
    assert view.model.rowCount() == total and "finished" in view.status.text()
    assert view.summary["errors"] == len(BROKEN_IDS)
    assert view.summary_panel.coalitions.rowCount() == 8


def test_filters_narrow_the_table(finished_view):
    view, _ = finished_view
    view.filters.correct.setCurrentText("wrong")
    shown = view.model.visible_table()
    assert shown.num_rows == sum(1 for v in view.table["correct"].to_pylist() if v is False)
    assert set(shown["correct"].to_pylist()) <= {False}
    view.filters.correct.setCurrentText("all")
    view.filters.label.setCurrentText("3")
    view.filters.modalities["audio"].setChecked(True)
    shown = view.model.visible_table()
    assert shown.num_rows > 0
    assert set(shown["label"].to_pylist()) == {"3"} and all(shown["present_audio"].to_pylist())
    view.filters.errors_only.setChecked(True)
    assert view.model.visible_table()["id"].to_pylist() == ["unreadable-audio"]


def test_sorting_by_a_column_orders_the_rows(finished_view):
    view, _ = finished_view
    column = view.model.columns.index("confidence")
    view.view.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    values = [v for v in view.model.visible_table()["confidence"].to_pylist() if v is not None]
    assert values == sorted(values, reverse=True)


def test_clicking_a_confusion_cell_selects_its_rows(qtbot, finished_view):
    view, _ = finished_view
    matrix = np.asarray(view.summary["confusion"]["matrix"])
    row, column = np.unravel_index(np.argmax(matrix), matrix.shape)
    _click_cell(qtbot, view, row, column)
    shown = view.model.visible_table()
    labels = view.summary["labels"]
    assert shown.num_rows == matrix[row, column]
    assert set(shown["label"].to_pylist()) == {labels[row]}
    assert set(shown["predicted"].to_pylist()) == {labels[column]}
    assert view.clear_selection.isVisible()
    qtbot.mouseClick(view.clear_selection, Qt.MouseButton.LeftButton)
    assert view.model.rowCount() == view.table.num_rows


def test_the_embedding_map_selection_filters_the_table(finished_view):
    view, _ = finished_view
    points = view.embedding_map.points
    assert len(points) == 40  # every analysed row has a fused embedding; error rows none
    view.embedding_map.select.setChecked(True)
    low, high = points.min(0), points.max(0)
    middle = (low + high) / 2
    view.embedding_map.region.setPos(low - 1)
    view.embedding_map.region.setSize(middle - low + 1)  # the lower-left quarter and more
    inside = ((points <= middle).all(1)).sum()
    assert view.model.rowCount() == inside
    view.embedding_map.select.setChecked(False)
    assert view.model.rowCount() == view.table.num_rows


def test_clicking_a_row_opens_that_record(qtbot, finished_view):
    view, _ = finished_view
    index = view.model.index(5, 0)
    expected = view.model.record(5)
    position = view.view.visualRect(index).center()
    with qtbot.waitSignal(view.record_activated) as opened:
        qtbot.mouseClick(view.view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(position))
    assert opened.args[0]["id"] == expected["id"]
    assert opened.args[0]["image_path"] == expected["image_path"]


def test_export_writes_the_filtered_rows_and_the_summary(finished_view, tmp_path):
    view, _ = finished_view
    view.filters.correct.setCurrentText("right")
    shown = view.model.rowCount()
    parquet = view.export_table(tmp_path / "rows.parquet")
    csv = view.export_table(tmp_path / "rows.csv")
    assert pq.read_table(parquet).num_rows == shown
    flat = pacsv.read_csv(csv)
    assert flat.num_rows == shown and "p_7" in flat.column_names
    assert "value_image+text+audio" in flat.column_names
    summary = json.loads(view.export_summary(tmp_path / "summary.json").read_text())
    assert summary["records"] == view.table.num_rows
    picture = view.export_summary(tmp_path / "summary.png")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cancel_stops_the_run_with_its_rows_kept(qtbot, service, tmp_path):
    from mmstudio.datasets.store import ResultsStore
    from mmstudio.gui.dataset import DatasetView

    data = write_dataset(tmp_path / "data", count=200, broken=False)
    view = DatasetView()
    qtbot.addWidget(view)
    job, progressed = start_job(service, view, data, tmp_path / "cache", batch_size=2)
    endings = []
    job.finished.connect(endings.append)
    with qtbot.waitSignal(job.progressed, timeout=300_000):
        pass
    assert view.job is job  # attached when the results folder opened, before the first step
    qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(endings), timeout=120_000)
    last = endings[0]
    assert not last.finished and last.done < 200 and last is progressed[-1]
    assert len(ResultsStore(job.results).finished_ids()) == last.done
    assert "stopped" in view.status.text()


def test_rows_arriving_keep_the_selection_and_are_inserted_not_reset(qtbot, finished_view):
    """While a dataset runs, new rows are appended to the shown table: a row the user has
    selected stays selected, and rows are inserted after the visible ones; where the new rows
    sort in among the shown ones, the model resets."""
    view, _ = finished_view
    full = view.table
    view.model.set_table(full.slice(0, 20))
    view.view.selectRow(5)
    inserted, resets = [], []
    view.model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    view.model.modelReset.connect(lambda: resets.append("reset"))
    view.model.extend_table(full.slice(0, 30))
    assert inserted == [(20, 29)] and resets == []
    assert [index.row() for index in view.view.selectionModel().selectedRows()] == [5]
    view.model.sort(view.model.columns.index("id"), Qt.SortOrder.DescendingOrder)
    view.model.extend_table(full)  # the new ids sort before the shown ones: a reset
    assert resets == ["reset"] and view.model.rowCount() == full.num_rows
