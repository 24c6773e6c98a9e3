"""The Dataset view on a question/answer dataset's results: ``mmstudio build-digits-chat``
writes the questions, ``mmstudio analyze --coalition-answers`` answers them with the tiny
Qwen2.5-Omni thinker, and the view opened on that results folder shows the per-kind table
(exact match, every coalition, the reliance) and the kinds among the reliance slices."""

from __future__ import annotations

import json

import pytest

from mmstudio.datasets.figures import percent
from tests.chat.helpers import write_fake_digits
from tests.conftest import require_module

torch = require_module("torch")

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def results(tiny_model_folders, tmp_path_factory):
    from mmstudio.cli import main

    root = tmp_path_factory.mktemp("kinds_view")
    write_fake_digits(root / "digits", splits=("test",))
    data = root / "questions"
    assert main(["build-digits-chat", str(root / "digits"), str(data), "--records", "6"]) == 0
    out = root / "results.parquet"
    model = str(tiny_model_folders["qwen25_omni_thinker"])
    args = ["analyze", str(data), "--model", model, "--out", str(out), "--device", "cpu"]
    assert main([*args, "--max-new-tokens", "3", "--coalition-answers", "--workers", "1"]) == 0
    return out, json.loads((root / "results.summary.json").read_text())


def cells_of(table) -> list[list[str]]:
    return [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def test_the_view_shows_each_kinds_exact_match_coalitions_and_reliance(qtbot, results):
    from mmstudio.gui.dataset import DatasetView

    out, written = results
    view = DatasetView()
    qtbot.addWidget(view)
    view.resize(1400, 1000)
    view.show()
    view.open_results(out)
    panel = view.summary_panel
    qtbot.waitUntil(lambda: panel.summary is view.summary)
    summary = view.summary
    # The view's summary, built from the rows, is the one analyze wrote.
    assert summary["per_label"] == written["per_label"]
    table = panel.per_label
    assert table.isVisible()
    coalitions = list(reversed(written["coalitions"]))  # the full coalition first
    modalities = written["modalities"]
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == [
        "label",
        "records",
        "exact match",
        *coalitions,
        *(f"{m} share" for m in modalities),
    ]
    cells = cells_of(table)
    assert [row[0] for row in cells] == list(written["per_label"])
    assert cells[-1][0] == "all labels" and cells[-1][1] == "6"
    for row, entry in zip(cells, written["per_label"].values(), strict=True):
        assert row[1] == str(entry["with_expected_answer"])
        assert row[2] == percent(entry["accuracy"])
        # Every coalition was measured, and the full one is the exact match.
        assert row[3 : 3 + len(coalitions)] == [
            percent(entry["coalitions"][name]["accuracy"]) for name in coalitions
        ]
        assert "n/a" not in row[2 : 3 + len(coalitions)] and row[3] == row[2]
        assert row[3 + len(coalitions) :] == [
            percent(entry["shapley_share"][m]) for m in modalities
        ]
    # The kinds are reliance slices: the plots show all records and one stacked bar per kind
    # (the metadata slices, templates and sources, stay in the JSON).
    kinds = [label for label in written["per_label"] if label != "all labels"]
    groups = ["all records", *(f"label={k}" for k in kinds)]
    assert set(groups) < set(summary["reliance"]) and len(summary["reliance"]) > len(groups)
    heights = [bars.opts["height"] for bars in panel.reliance_bars]
    assert all(len(h) == len(groups) for h in heights)
    assert list(panel.accuracy_bars.opts["height"]) == pytest.approx(
        [summary["reliance"][g]["accuracy"] for g in groups]
    )
    for kind in kinds:
        index = groups.index(f"label={kind}")
        shares = written["per_label"][kind]["shapley_share"]
        assert [h[index] for h in heights] == pytest.approx([shares[m] for m in modalities])


def test_rows_without_labels_hide_the_table(qtbot, results):
    """A generation dataset without labels (no question kinds) has no per-label table."""
    import pyarrow as pa

    from mmstudio.datasets.store import ResultsStore
    from mmstudio.datasets.summary import builder_for
    from mmstudio.gui.dataset.summary_panel import SummaryPanel

    out, written = results
    panel = SummaryPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.show_summary(written)
    assert panel.per_label.isVisible()
    rows = ResultsStore(out).read()
    index = rows.schema.get_field_index("label")
    unlabelled = rows.set_column(index, "label", pa.nulls(rows.num_rows, pa.string()))
    builder = builder_for(unlabelled.schema)
    builder.add(unlabelled)
    summary = builder.result()
    assert summary["per_label"] == {} and summary["accuracy"] == written["accuracy"]
    panel.show_summary(summary)
    assert not panel.per_label.isVisible()


def test_the_window_answers_under_every_coalition_when_the_menu_asks(
    qtbot, window, results, tiny_model_folders, monkeypatch, tmp_path
):
    """Dataset ▸ Answer Under Every Coalition: the window's own run (the analysis service's
    background lane) generates every coalition's answer, into results of their own, and the
    per-label table shows the same figures the command line wrote."""
    from PySide6.QtWidgets import QFileDialog

    from mmstudio.gui.common.settings import GenerationSettings

    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    out, written = results
    folder = tiny_model_folders["qwen25_omni_thinker"]
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(folder))
    with qtbot.waitSignal(window.model_ready, timeout=120_000):
        window.models.open_folder_action.trigger()
    window.generation.choose(GenerationSettings(max_new_tokens=3))
    data = out.parent / "questions"
    mode = window.dataset_mode

    def run() -> None:
        job = mode.job
        qtbot.waitUntil(lambda: job.done, timeout=300_000)
        assert job.last is not None and job.last.finished

    window.open_dataset(data)
    run()
    plain = mode.job.results
    table = mode.view.summary_panel.per_label
    qtbot.waitUntil(lambda: mode.view.summary_panel.summary is mode.view.summary)
    # Without the option, the kinds' exact match and reliance, but no coalition measured.
    coalitions = len(written["coalitions"])
    assert all(row[3 : 3 + coalitions] == ["n/a"] * coalitions for row in cells_of(table))
    action = window.dataset_actions.coalition_answers
    assert action.isCheckable() and not action.isChecked()
    action.trigger()  # the dataset shown is analysed again, every coalition answered
    assert mode.coalition_answers
    run()
    assert mode.job.results != plain and mode.job.results.name.count("-coalitions") == 1
    qtbot.waitUntil(lambda: mode.view.summary_panel.summary is mode.view.summary)
    assert mode.view.summary["per_label"] == written["per_label"]
    assert cells_of(table)[-1][3 : 3 + coalitions] == [
        percent(written["per_label"]["all labels"]["coalitions"][name]["accuracy"])
        for name in reversed(written["coalitions"])
    ]
