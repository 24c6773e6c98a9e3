"""The Dataset view on a generative model's rows: the window's analysis service runs the
dataset with the tiny LLaVA folder, and the view shows the answers and the generation summary
(exact-match accuracy and reliance per slice, the coalitions table), not a confusion matrix."""

from __future__ import annotations

import json

import pytest

from tests.conftest import require_module
from tests.generative.tiny_models import sample_image

torch = require_module("torch")

pytestmark = pytest.mark.gui


@pytest.fixture
def generator_service(qtbot, tiny_model_folders):
    """The window's analysis service with the tiny LLaVA folder opened by path."""
    from mmstudio.gui.service import AnalysisService

    service = AnalysisService()
    with qtbot.waitSignal(service.model_loaded, timeout=120_000):
        service.load_model(str(tiny_model_folders["llava"]), "cpu")
    yield service
    assert service.shutdown()


def write_questions(root):
    root.mkdir()
    sample_image().save(root / "picture.png")
    rows = [
        {"id": "a", "image": "picture.png", "text": "what is this ?", "answer": "x", "kind": "p"},
        {"id": "b", "image": "picture.png", "text": "who is it ?", "answer": "y", "kind": "q"},
        {"id": "c", "text": "where is the dog ?", "kind": "q"},
        {"id": "d", "image": "missing.png", "text": "why ?"},
    ]
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_the_view_shows_the_answers_and_the_generation_summary(qtbot, generator_service, tmp_path):
    from mmstudio.gui.dataset import DatasetView
    from mmstudio.gui.dataset.service_job import ServiceDatasetJob

    data = write_questions(tmp_path / "questions")
    view = DatasetView()
    qtbot.addWidget(view)
    view.resize(1200, 900)
    view.show()
    job = ServiceDatasetJob(generator_service, data, cache_root=tmp_path / "cache")
    progressed = []
    job.opened.connect(lambda _results: view.attach(job))
    job.progressed.connect(progressed.append)
    with qtbot.waitSignal(job.finished, timeout=300_000):
        pass
    # One record per step: a click between two answers waits for one generation at most.
    rows_per_step = [p.rows.num_rows for p in progressed if p.rows is not None]
    assert rows_per_step and set(rows_per_step) == {1}
    summary = view.summary
    assert summary["task"] == "generation"
    assert summary["records"] == 4 and summary["errors"] == 1
    assert summary["with_expected_answer"] == 2
    # The table leads with the question, the answer and the expected one.
    assert view.model.columns[:5] == ["id", "text", "answer", "expected_answer", "correct"]
    assert view.model.rowCount() == 4
    answers = {view.model.record(r)["id"]: view.model.record(r)["answer"] for r in range(4)}
    assert all(answers[i] for i in "abc") and answers["d"] is None
    panel = view.summary_panel
    qtbot.waitUntil(lambda: panel.summary is summary)
    assert panel.confusion_plot.isHidden() and panel.aggregates.isHidden()
    assert "exact-match accuracy" in panel.headline.text()
    assert "per slice" in panel.reliance_plot.getPlotItem().titleLabel.text
    groups = list(summary["reliance"])
    assert groups == ["all records", "kind=p", "kind=q"]
    # Reliance bars: one set per modality, one bar per group, stacked to each group's total.
    heights = [bars.opts["height"] for bars in panel.reliance_bars]
    assert len(heights) == 2 and all(len(h) == len(groups) for h in heights)
    for index, group in enumerate(groups):
        shares = summary["reliance"][group]["shapley_share"]
        assert [h[index] for h in heights] == pytest.approx([shares["image"], shares["text"]])
    # The coalitions table lists all four coalitions (not measured here: n/a).
    cells = [
        [panel.coalitions.item(r, c).text() for c in range(3)]
        for r in range(panel.coalitions.rowCount())
    ]
    assert [c[0] for c in cells] == ["image+text", "image", "text", "none"]
    assert all(c[1] == "n/a" and c[2] == "0" for c in cells)


def test_the_windows_generation_options_decode_the_dataset(qtbot, generator_service, tmp_path):
    """The job answers with the options it is given (the window's Generation options), and each
    set of options has its own cached results: other options never resume another's rows."""
    import pyarrow.dataset as pads

    from mmstudio.datasets.results_metadata import layout_of
    from mmstudio.gui.dataset.service_job import ServiceDatasetJob
    from mmstudio.models.generative.options import GenerationOptions

    data = write_questions(tmp_path / "questions")
    folders = {}
    for tokens in (2, 3):
        options = GenerationOptions(max_new_tokens=tokens, contrastive=True)
        job = ServiceDatasetJob(
            generator_service, data, cache_root=tmp_path / "cache", generation=options
        )
        with qtbot.waitSignal(job.finished, timeout=300_000):
            pass
        table = pads.dataset(str(job.results), format="parquet").to_table()
        answered = [n for n in table.column("answer_tokens").to_pylist() if n is not None]
        assert len(answered) == 3 and max(answered) <= tokens
        assert tokens in answered  # random words: no answer ends before the limit here
        decoding = layout_of(table.schema)["generation"]
        assert decoding["max_new_tokens"] == tokens and decoding["contrastive"] is False
        folders[tokens] = job.results
    assert folders[2] != folders[3] and folders[2].parent == folders[3].parent
