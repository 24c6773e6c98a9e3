"""Two models on one dataset in the real window: Dataset ▸ Compare With Model… picks a second
checkpoint (remembered in the settings), the dataset runs through both in the analysis
service's background lane, the summary shows the agreement the rows hold, and the filter bar
narrows the table to exactly the records where the two models disagree."""

from __future__ import annotations

import numpy as np
import pytest

from tests.core.analysis_data import BROKEN_IDS, write_dataset

pytestmark = pytest.mark.gui

COUNT = 28


@pytest.fixture
def second_model(tmp_path):
    from mmstudio.models import save_checkpoint
    from tests.core.helpers import tiny_model

    # Another fusion strategy than the window's tiny attention model.
    return save_checkpoint(tiny_model("gated", seed=1), tmp_path / "gated")


def _choose_folder_in_the_menu(monkeypatch, window, folder) -> None:
    from mmstudio.gui.dataset import dataset_actions

    asked = []

    def pick_folder_item(_parent, _title, _text, items, _current, _editable):
        asked.append(items)
        return dataset_actions.FOLDER_CHOICE, True

    monkeypatch.setattr(dataset_actions.QInputDialog, "getItem", pick_folder_item)
    monkeypatch.setattr(
        dataset_actions.QFileDialog, "getExistingDirectory", lambda *_args: str(folder)
    )
    window.dataset_actions.compare.trigger()
    assert asked and "digits" in asked[0]  # registered models are offered by name


def _run_dataset(qtbot, window, data):
    window.open_dataset(data)
    job = window.dataset_mode.job
    qtbot.waitUntil(lambda: job.done, timeout=300_000)
    assert job.last is not None and job.last.finished
    return window.dataset_mode.view


def test_a_dataset_compared_with_a_second_model_filters_to_the_disagreements(
    qtbot, window, second_model, tmp_path, monkeypatch
):
    from mmstudio.gui.common.settings import StudioSettings
    from mmstudio.models.registry import get_model

    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    _choose_folder_in_the_menu(monkeypatch, window, second_model)
    assert window.dataset_mode.compare_model == str(second_model)
    remembered = StudioSettings.read(window.settings, ()).dataset_compare_model
    assert remembered == str(second_model)

    view = _run_dataset(qtbot, window, write_dataset(tmp_path / "data", count=COUNT))
    rows = view.table.to_pylist()
    assert len(rows) == COUNT + len(BROKEN_IDS)
    agree = [row["agree"] for row in rows if row["agree"] is not None]
    comparison = view.summary["comparison"]
    assert comparison["compare_model"] == get_model(str(second_model), "cpu").name
    assert comparison["compared"] == len(agree) == COUNT
    assert comparison["agreement"] == pytest.approx(np.mean(agree))
    panel = view.summary_panel.comparison
    assert not panel.isHidden()
    assert f"{comparison['agreement']:.1%}" in panel.headline.text()
    heights = panel.second_bars.opts["height"]
    expected = [entry["compare_accuracy"] or 0.0 for entry in comparison["per_class"].values()]
    np.testing.assert_allclose(heights, expected)
    for column in ("compare_predicted", "compare_confidence", "agree"):
        assert column in view.model.columns

    filters = view.filters
    assert not filters.agreement.isHidden()
    filters.agreement.setCurrentText("models disagree")
    shown = [view.model.record(i)["id"] for i in range(view.model.rowCount())]
    disagreeing = [row["id"] for row in rows if row["agree"] is False]
    assert sorted(shown) == sorted(disagreeing)
    assert 0 < len(disagreeing) < COUNT  # both kinds of record exist, so the filter chose
    for i in range(view.model.rowCount()):
        record = view.model.record(i)
        assert record["predicted"] != record["compare_predicted"]
    filters.agreement.setCurrentText("models agree")
    assert view.model.rowCount() == len(agree) - len(disagreeing)

    # Stop Comparing: the same dataset again with the window's model alone, and forgotten.
    stop = window.dataset_actions.stop_comparing
    assert stop.isEnabled() and second_model.name in stop.text()
    stop.trigger()
    view = _run_dataset(qtbot, window, window.dataset_mode.dataset)
    assert "agree" not in view.table.column_names and "comparison" not in view.summary
    assert view.filters.agreement.isHidden() and view.summary_panel.comparison.isHidden()
    assert view.model.rowCount() == COUNT + len(BROKEN_IDS)
    assert StudioSettings.read(window.settings, ()).dataset_compare_model == ""


def test_a_compare_model_with_other_labels_is_refused_with_the_labels_named(
    qtbot, window, tmp_path, monkeypatch
):
    from mmstudio.models import FusionConfig, FusionNet, save_checkpoint

    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    colours = FusionNet(FusionConfig(labels=["red", "green", "blue"], dim=16, text_layers=1))
    _choose_folder_in_the_menu(monkeypatch, window, save_checkpoint(colours, tmp_path / "rgb"))
    window.open_dataset(write_dataset(tmp_path / "data", count=4, broken=False))
    job = window.dataset_mode.job
    qtbot.waitUntil(lambda: job.done, timeout=120_000)
    assert job.results is None  # refused before a results folder was named
    status = window.dataset_mode.view.status.text()
    assert "labels differ" in status and "'red'" in status
    assert "labels differ" in window.error_banner.text()
    assert window.service.analyzer is not None  # the window's own model is still loaded
