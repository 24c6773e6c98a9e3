"""Dataset analysis: the local engine, its rows, summary, bad records, kill and resume, the CLI.

The shipped digits model runs on a small generated dataset (printed digits, tones, sentences),
so predictions differ between coalitions of modalities, as they do on real data.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.dataset as pads
import pytest

from tests.conftest import require_module

torch = require_module("torch")

from mmstudio.analysis import Analyzer  # noqa: E402
from mmstudio.datasets.engine import LocalAnalysis  # noqa: E402
from mmstudio.datasets.records import decode_record, read_records  # noqa: E402
from mmstudio.datasets.store import ResultsStore  # noqa: E402
from mmstudio.datasets.summary import summarize  # noqa: E402
from mmstudio.explain.shapley import coalition_masks  # noqa: E402
from mmstudio.inputs.errors import InputError  # noqa: E402
from mmstudio.models.registry import get_model  # noqa: E402
from tests.core.analysis_data import BROKEN_IDS, write_dataset  # noqa: E402
from tests.core.helpers import random_sample, tiny_model  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(2)
    return get_model("digits", torch.device("cpu"))


@pytest.fixture(scope="module")
def analyzer(model):
    return Analyzer(model, "cpu", explain=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("analysis") / "data")


@pytest.fixture(scope="module")
def results(analyzer, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "results.parquet"
    steps = list(LocalAnalysis(analyzer, read_records(data), out, batch_size=8).steps())
    table = pads.dataset(str(out)).to_table()
    return out, steps, {row["id"]: row for row in table.to_pylist()}


def _coalition_index(modalities, members) -> int:
    wanted = [m in members for m in modalities]
    return coalition_masks(len(modalities)).tolist().index(wanted)


# ------------------------------------------------------------------------------ the Analysis


@pytest.mark.parametrize("fusion", ["attention", "concat", "gated", "tensor", "late"])
def test_analysis_keeps_every_coalition_value_and_the_fused_embedding(fusion):
    model = tiny_model(fusion)
    analysis = Analyzer(model, "cpu", explain=False).analyze(random_sample(3))
    batch = model.preprocess([random_sample(3)])
    masks = coalition_masks(3)
    with torch.no_grad():
        output = model.fuse(model.encode(batch), masks.unsqueeze(0))
    log_probs = torch.log_softmax(output.logits[0].double(), -1)
    predicted = analysis.predicted_index
    np.testing.assert_allclose(analysis.coalition_values, log_probs[:, predicted], atol=1e-5)
    assert analysis.coalition_predictions == log_probs.argmax(-1).tolist()
    assert analysis.coalition_values[-1] == pytest.approx(analysis.full_score)
    assert analysis.coalition_values[0] == pytest.approx(analysis.shapley_base)
    if fusion == "late":
        assert analysis.embedding is None  # no single fused vector: it averages unimodal heads
        return
    # The embedding is what the classifier's last layer reads: it gives back the logits.
    last_layer = model.fusion.head[-1]
    with torch.no_grad():
        logits = last_layer(torch.from_numpy(analysis.embedding)) / model.config.temperature
    np.testing.assert_allclose(logits, output.logits[0, -1], atol=1e-5)


# ------------------------------------------------------------------------------ rows


def test_each_row_matches_analyze_on_its_record(results, analyzer, data):
    _, _, rows = results
    dataset = read_records(data)
    good = [r for r in dataset.records if r.id not in BROKEN_IDS]
    assert len(rows) == len(dataset.records)
    for record in good:
        row = rows[record.id]
        expected = analyzer.analyze(decode_record(record))
        assert row["error"] is None
        assert row["predicted"] == expected.predicted_label
        assert row["label"] == record.label and row["label_index"] == int(record.label)
        assert row["correct"] == (expected.predicted_label == record.label)
        np.testing.assert_allclose(row["probabilities"], expected.probabilities, atol=1e-5)
        np.testing.assert_allclose(row["coalition_values"], expected.coalition_values, atol=1e-4)
        assert row["coalition_predictions"] == expected.coalition_predictions
        np.testing.assert_allclose(row["embedding"], expected.embedding, atol=1e-4)
        assert row["full_score"] == pytest.approx(expected.full_score, abs=1e-4)
        for modality in analyzer.modalities:
            assert row[f"present_{modality}"] == (modality in expected.present)
            if modality in expected.present:
                assert row[f"shapley_{modality}"] == pytest.approx(
                    expected.shapley[modality], abs=1e-4
                )
                assert row[f"weight_{modality}"] == pytest.approx(
                    expected.fusion_weights[modality], abs=1e-4
                )
            else:
                assert row[f"shapley_{modality}"] is None and row[f"weight_{modality}"] is None
        assert row["meta_voice"] == record.meta["voice"]
        assert row["image_path"] == (str(record.image) if record.image else None)


def test_bad_records_become_error_rows_and_the_run_goes_on(results):
    out, steps, rows = results
    assert steps[-1].finished and steps[-1].errors == len(BROKEN_IDS)
    messages = {record_id: rows[record_id]["error"] for record_id in BROKEN_IDS}
    assert "gone.png" in messages["missing-image"] and "does not exist" in messages["missing-image"]
    assert "corrupt.png" in messages["corrupt-image"]
    assert "noise.wav" in messages["unreadable-audio"]
    for record_id in BROKEN_IDS:
        assert rows[record_id]["predicted"] is None and rows[record_id]["probabilities"] is None
    summary = summarize(out)
    assert summary["errors"] == len(BROKEN_IDS)
    assert summary["analysed"] == len(rows) - len(BROKEN_IDS)
    assert {e["id"] for e in summary["error_examples"]} == set(BROKEN_IDS)


def test_progress_counts_up_to_the_total_with_a_rate(results):
    _, steps, rows = results
    done = [step.done for step in steps]
    assert done == sorted(done) and done[-1] == len(rows) == steps[-1].total
    assert all(step.rate > 0 for step in steps) and steps[-1].eta_seconds == 0
    assert sum(step.rows.num_rows for step in steps if step.rows is not None) == len(rows)


# ------------------------------------------------------------------------------ summary


def test_summary_matches_the_rows(results):
    from mmstudio.training.evaluate import expected_calibration_error

    out, _, rows = results
    summary = summarize(out)
    good = [row for row in rows.values() if row["error"] is None]
    correct = [row["correct"] for row in good]
    assert summary["accuracy"] == pytest.approx(np.mean(correct))
    matrix = np.zeros((10, 10), dtype=int)
    for row in good:
        matrix[row["label_index"], row["predicted_index"]] += 1
    assert summary["confusion"]["matrix"] == matrix.tolist()
    probabilities = torch.tensor([row["probabilities"] for row in good])
    labels = torch.tensor([row["label_index"] for row in good])
    assert summary["ece"] == pytest.approx(expected_calibration_error(probabilities, labels))
    for voice in ("low", "high"):
        subset = [row["correct"] for row in good if row["meta_voice"] == voice]
        assert summary["slices"]["voice"][voice] == {
            "count": len(subset),
            "accuracy": np.mean(subset),
        }
    for label, entry in summary["per_class"].items():
        subset = [row["correct"] for row in good if row["label"] == label]
        assert entry["count"] == len(subset)
    shares = summary["reliance"]["3"]["shapley_share"]
    assert sum(shares.values()) == pytest.approx(1.0)


def test_coalition_accuracies_match_the_model_run_with_modalities_switched_off(
    results, analyzer, model, data
):
    out, _, _ = results
    summary = summarize(out)
    good = [r for r in read_records(data).records if r.id not in BROKEN_IDS]
    modalities = analyzer.modalities
    varied = set()
    for name, entry in summary["coalitions"].items():
        members = [] if name == "none" else name.split("+")
        having = [r for r in good if set(members) <= set(decode_record(r).present)]
        hits = [
            _predict_with_only(analyzer, model, decode_record(r), members) == int(r.label)
            for r in having
        ]
        assert entry["count"] == len(having)
        assert entry["accuracy"] == pytest.approx(np.mean(hits)), name
        varied.add(round(entry["accuracy"], 6))
    assert len(varied) > 2  # the coalitions really differ, so the comparison means something
    assert summary["coalitions"]["+".join(modalities)]["count"] < len(good)


def _predict_with_only(analyzer, model, sample, members) -> int:
    if members:
        off = [m for m in analyzer.modalities if m not in members]
        return analyzer.analyze(sample.without(*off)).predicted_index
    # No modality at all: the Analyzer refuses an empty sample, so ask the model directly.
    batch = model.preprocess([sample])
    nothing = torch.zeros(1, 1, len(analyzer.modalities), dtype=torch.bool)
    with torch.no_grad():
        return int(model.fuse(model.encode(batch), nothing).logits[0, 0].argmax())


# ------------------------------------------------------------------------------ resume, cancel


def test_resume_adds_only_the_missing_rows(analyzer, data, tmp_path, results):
    _, _, full_rows = results
    out = tmp_path / "resumed.parquet"
    dataset = read_records(data)
    first = LocalAnalysis(analyzer, read_records(data, limit=10), out, batch_size=4).run()
    assert first.done == 10
    with pytest.raises(InputError, match="--resume"):
        LocalAnalysis(analyzer, dataset, out)
    parts_before = {p: p.read_bytes() for p in ResultsStore(out).parts}
    last = LocalAnalysis(analyzer, dataset, out, batch_size=4, resume=True).run()
    assert last.resumed == 10 and last.done == len(dataset.records)
    ids = pads.dataset(str(out)).to_table(columns=["id"]).column("id").to_pylist()
    assert sorted(ids) == sorted(full_rows) and len(ids) == len(set(ids))
    for part, content in parts_before.items():
        assert part.read_bytes() == content  # the first run's rows are kept as they were


def test_cancel_stops_between_batches_with_the_finished_rows_written(analyzer, data, tmp_path):
    out = tmp_path / "cancelled.parquet"
    run = LocalAnalysis(analyzer, read_records(data), out, batch_size=4, flush_seconds=3600)
    seen = []
    for progress in run.steps():
        seen.append(progress)
        if len(seen) == 2:
            run.cancel()
    assert not seen[-1].finished and seen[-1].done == 8
    assert ResultsStore(out).finished_ids() == {f"r{i:03d}" for i in range(8)}


def test_a_run_for_another_model_refuses_the_old_results(data, tmp_path, results):
    out, _, _ = results
    other = Analyzer(tiny_model("concat"), "cpu", explain=False)
    with pytest.raises(InputError, match="another model"):
        LocalAnalysis(other, read_records(data), out, resume=True)


# ------------------------------------------------------------------------------ plain folders


def test_a_folder_without_manifest_pairs_files_by_stem(analyzer, tmp_path):
    import soundfile as sf

    from tests.core.analysis_data import digit_image, digit_tone

    folder = tmp_path / "loose"
    (folder / "sub").mkdir(parents=True)
    digit_image(4).save(folder / "four.png")
    sf.write(folder / "four.wav", digit_tone(4), 16000)
    (folder / "four.txt").write_text("the number four", encoding="utf-8")
    digit_image(7).save(folder / "sub" / "seven.png")
    digit_image(1).save(folder / "one.png")
    digit_image(1).save(folder / "one.jpg")
    dataset = read_records(folder)
    assert [r.id for r in dataset.records] == ["four", "one", "sub/seven"]
    out = tmp_path / "loose.parquet"
    LocalAnalysis(analyzer, dataset, out).run()
    rows = {r["id"]: r for r in pads.dataset(str(out)).to_table().to_pylist()}
    assert rows["four"]["present_image"] and rows["four"]["present_audio"]
    assert rows["four"]["present_text"] and rows["four"]["text_path"].endswith("four.txt")
    assert rows["four"]["label"] is None and rows["four"]["correct"] is None
    assert "one.jpg, one.png share one name" in rows["one"]["error"]
    summary = summarize(out)
    assert summary["accuracy"] is None and summary["reliance_by"] == "prediction"
    assert summary["reliance"][rows["four"]["predicted"]]["count"] >= 1


def test_read_records_names_a_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_records(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no image, audio or .txt files"):
        read_records(tmp_path / "empty")


# ------------------------------------------------------------------------------ command line


# The follow-up checks have their own tests (test_dataset_aggregates.py); without them a
# summary is exactly the rows'.
NO_CHECKS = ("--swap-test", "0", "--faithfulness", "0")


def _analyze(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2"}
    return subprocess.Popen(
        [sys.executable, "-m", "mmstudio", "analyze", *args, *NO_CHECKS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def test_cli_writes_rows_and_summary(data, tmp_path):
    out = tmp_path / "cli.parquet"
    process = _analyze(str(data), "--out", str(out), "--batch-size", "16")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    summary = json.loads((tmp_path / "cli.summary.json").read_text(encoding="utf-8"))
    assert summary["errors"] == len(BROKEN_IDS) and summary == summarize(out)
    assert "Accuracy" in stdout and "image+text+audio" in stdout
    assert "rec/s" in stderr  # the progress bar, with its rate
    again = _analyze(str(data), "--out", str(out))
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 2 and "--resume" in stderr and "Traceback" not in stderr


def test_killed_run_leaves_readable_rows_and_resume_completes_them(tmp_path):
    data = write_dataset(tmp_path / "big", count=400, broken=False)
    out = tmp_path / "killed.parquet"
    process = _analyze(
        str(data), "--out", str(out), "--batch-size", "2", "--checkpoint-seconds", "0"
    )
    store = ResultsStore(out)
    while len(store.parts) < 3 and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    killed_ids = pads.dataset(str(out)).to_table(columns=["id"]).column("id").to_pylist()
    assert 0 < len(killed_ids) < 400 and len(killed_ids) == len(set(killed_ids))
    resumed = _analyze(str(data), "--out", str(out), "--resume")
    _, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr
    table = pads.dataset(str(out)).to_table()
    ids = table.column("id").to_pylist()
    assert sorted(ids) == [f"r{i:03d}" for i in range(400)]
    assert table.column("error").null_count == 400
    assert not list(out.glob(".*"))  # nothing half-written is left behind


def test_terminated_run_writes_its_finished_rows_and_says_how_to_resume(tmp_path):
    data = write_dataset(tmp_path / "big", count=2000, broken=False)
    out = tmp_path / "stopped.parquet"
    # No checkpoint comes due, so every row on disk was written by the orderly stop.
    process = _analyze(
        str(data), "--out", str(out), "--batch-size", "2", "--checkpoint-seconds", "3600"
    )
    stderr = _StreamReader(process.stderr)
    while stderr.progress() < 10 and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be stopped"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)
    message = stderr.text()
    assert process.returncode == 130, message
    rows = len(ResultsStore(out).finished_ids())
    assert rows >= 10 and f"{rows} rows are in" in message and "--resume" in message
    assert "Traceback" not in message


class _StreamReader:
    """Collects a pipe's output in a thread, so a progress bar can be watched as it runs."""

    def __init__(self, stream):
        import threading

        self._chunks: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for chunk in iter(lambda: stream.read(64), ""):
            self._chunks.append(chunk)

    def text(self) -> str:
        self._thread.join(timeout=30)
        return "".join(self._chunks)

    def progress(self) -> int:
        """The latest record count the progress bar showed."""
        import re

        counts = re.findall(r"(\d+)/\d+ \[", "".join(self._chunks))
        return int(counts[-1]) if counts else 0


# ------------------------------------------------------------------------------ cache key


def test_the_cache_key_changes_with_the_model_or_the_dataset(model, tmp_path):
    from mmstudio.datasets.cache import cached_results_path

    data = write_dataset(tmp_path / "data", count=5, broken=False)
    first = cached_results_path(model, data, tmp_path / "cache")
    assert cached_results_path(model, data, tmp_path / "cache") == first
    assert cached_results_path(tiny_model(), data, tmp_path / "cache") != first
    manifest = data / "manifest.jsonl"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("high", "tall"), "utf-8")
    assert cached_results_path(model, data, tmp_path / "cache") != first

    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "a.txt").write_text("one", encoding="utf-8")
    before = cached_results_path(model, loose, tmp_path / "cache")
    (loose / "b.txt").write_text("two", encoding="utf-8")
    assert cached_results_path(model, loose, tmp_path / "cache") != before
