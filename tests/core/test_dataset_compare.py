"""Two models on one dataset (``mmstudio analyze --compare``): each row holds both models'
answers, the summary compares them, and a file is never resumed with another comparison.

The first model ("A") is a tiny FusionNet; the second ("B") is another fusion strategy, or a
text+image model with its labels in another order, so the label mapping and the second model's
own modalities are exercised on every row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.dataset as pads
import pytest

from tests.conftest import require_module

torch = require_module("torch")

from mmstudio.analysis import Analyzer  # noqa: E402
from mmstudio.datasets.engine import LocalAnalysis  # noqa: E402
from mmstudio.datasets.records import decode_record, read_records  # noqa: E402
from mmstudio.datasets.summary import format_summary, summarize  # noqa: E402
from mmstudio.inputs.errors import InputError  # noqa: E402
from mmstudio.models.registry import get_model  # noqa: E402
from tests.core.analysis_data import BROKEN_IDS, WORDS, digit_image, write_dataset  # noqa: E402
from tests.core.helpers import DIGIT_LABELS, tiny_model  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
COUNT = 28


class TextImageDigits(torch.nn.Module):
    """A small text+image model with the digit labels in reverse order: the image against a
    template of each printed digit, and the digit word in the text. It takes samples whole
    (``coalition_logits``), as a plugin that cannot be split would."""

    name = "text-image-digits"
    labels = DIGIT_LABELS[::-1]
    modalities = ("image", "text")

    def __init__(self):
        super().__init__()
        self.register_buffer(
            "templates", torch.stack([_pixels(digit_image(int(label))) for label in self.labels])
        )

    def coalition_logits(self, samples, presence: torch.Tensor) -> torch.Tensor:
        if any(not {"image", "text"} & set(s.present) for s in samples):
            raise InputError("text-image-digits reads images and text only")
        evidence = torch.zeros(len(samples), 2, len(self.labels))
        for row, sample in enumerate(samples):
            if sample.image is not None:
                distance = (self.templates - _pixels(sample.image)).abs().mean((1, 2))
                evidence[row, 0] = -20.0 * distance
            words = (sample.text or "").lower().split()
            evidence[row, 1] = torch.tensor(
                [3.0 * (WORDS[int(label)] in words) for label in self.labels]
            )
        return (evidence.unsqueeze(1) * presence.unsqueeze(-1).float()).sum(2)


def _pixels(image) -> torch.Tensor:
    grey = np.asarray(image.convert("L").resize((16, 16)), dtype=np.float32) / 255.0
    return torch.from_numpy(grey)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("compare") / "data", count=COUNT)


@pytest.fixture(scope="module")
def first():
    torch.set_num_threads(2)
    return Analyzer(tiny_model("attention", seed=0), "cpu", explain=False)


@pytest.fixture(scope="module")
def gated():
    return Analyzer(tiny_model("gated", seed=1), "cpu", explain=False)


@pytest.fixture(scope="module")
def text_image():
    return Analyzer(TextImageDigits(), "cpu", explain=False)


def _run(first, second, data, out, **options):
    LocalAnalysis(first, read_records(data), out, batch_size=8, compare=second, **options).run()
    return {row["id"]: row for row in pads.dataset(str(out)).to_table().to_pylist()}


@pytest.fixture(scope="module")
def gated_rows(first, gated, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("gated") / "results.parquet"
    return out, _run(first, gated, data, out)


@pytest.fixture(scope="module")
def text_image_rows(first, text_image, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("text-image") / "results.parquet"
    return out, _run(first, text_image, data, out)


def _outcome(analyzer, sample):
    try:
        return analyzer.analyze(sample)
    except InputError as error:
        return str(error)


def _assert_compare_columns(rows, data, first, second):
    for record in read_records(data).records:
        row = rows[record.id]
        if record.id in BROKEN_IDS:
            # Unreadable for both: the read error is each model's.
            assert row["error"] and row["compare_error"] == row["error"] and row["agree"] is None
            assert row["compare_predicted"] is None
            continue
        sample = decode_record(record)
        own, theirs = first.analyze(sample), _outcome(second, sample)
        assert row["predicted"] == own.predicted_label
        if isinstance(theirs, str):
            assert row["compare_error"] == theirs and row["compare_predicted"] is None
            assert row["agree"] is None
            continue
        assert row["compare_error"] is None
        assert row["compare_predicted"] == theirs.predicted_label
        # Indices and probabilities in A's label order, whatever B's order.
        assert row["compare_predicted_index"] == DIGIT_LABELS.index(theirs.predicted_label)
        assert row["compare_confidence"] == pytest.approx(theirs.confidence, abs=1e-5)
        assert row["compare_correct"] == (theirs.predicted_label == record.label)
        assert row["agree"] == (theirs.predicted_label == own.predicted_label)
        by_label = dict(zip(second.model.labels, theirs.probabilities.tolist(), strict=True))
        np.testing.assert_allclose(
            row["compare_probabilities"], [by_label[label] for label in DIGIT_LABELS], atol=1e-5
        )
        np.testing.assert_allclose(
            row["compare_coalition_values"], theirs.coalition_values, atol=1e-4
        )
        assert row["compare_coalition_predictions"] == [
            DIGIT_LABELS.index(second.model.labels[c]) for c in theirs.coalition_predictions
        ]
        for modality in second.modalities:
            expected = theirs.shapley.get(modality)
            got = row[f"compare_shapley_{modality}"]
            assert got == (None if expected is None else pytest.approx(expected, abs=1e-4))
            weight = theirs.fusion_weights.get(modality)
            got = row[f"compare_weight_{modality}"]
            assert got == (None if weight is None else pytest.approx(weight, abs=1e-4))


# ------------------------------------------------------------------------------ rows


def test_compare_columns_equal_each_models_own_analysis(gated_rows, data, first, gated):
    _, rows = gated_rows
    assert len(rows) == COUNT + len(BROKEN_IDS)
    _assert_compare_columns(rows, data, first, gated)
    agree = [row["agree"] for row in rows.values() if row["agree"] is not None]
    assert any(agree) and not all(agree)  # the two strategies really differ on some records


def test_a_text_image_model_beside_a_trimodal_one_has_columns_for_its_own_modalities(
    text_image_rows, data, first, text_image
):
    out, rows = text_image_rows
    names = pads.dataset(str(out)).schema.names
    assert "compare_shapley_image" in names and "compare_shapley_text" in names
    assert "compare_shapley_audio" not in names and "shapley_audio" in names
    _assert_compare_columns(rows, data, first, text_image)
    audio_only = [
        row
        for row in rows.values()
        if row["error"] is None and not (row["present_image"] or row["present_text"])
    ]
    assert audio_only and all("images and text only" in row["compare_error"] for row in audio_only)
    from mmstudio.datasets.results_metadata import coalition_names, layout_of

    info = layout_of(pads.dataset(str(out)).schema)
    assert info["compare"]["model"] == "text-image-digits"
    assert info["compare"]["labels"] == DIGIT_LABELS[::-1]
    assert info["compare"]["coalitions"] == coalition_names(("image", "text"))
    assert len(info["compare"]["model_fingerprint"]) == 16


# ------------------------------------------------------------------------------ summary


def test_the_comparison_summary_equals_figures_recomputed_from_the_rows(text_image_rows):
    out, rows = text_image_rows
    comparison = summarize(out)["comparison"]
    both = [r for r in rows.values() if r["error"] is None and r["compare_error"] is None]
    assert comparison["compared"] == len(both) > 0
    assert comparison["agreement"] == pytest.approx(np.mean([r["agree"] for r in both]))
    labelled = [r for r in both if r["label_index"] is not None]
    right_a = np.array([r["correct"] for r in labelled])
    right_b = np.array([r["compare_correct"] for r in labelled])
    assert comparison["accuracy"] == pytest.approx(right_a.mean())
    assert comparison["compare_accuracy"] == pytest.approx(right_b.mean())
    assert comparison["only_model_right"] == int((right_a & ~right_b).sum())
    assert comparison["only_compare_right"] == int((~right_a & right_b).sum())
    assert comparison["both_right"] + comparison["both_wrong"] + comparison[
        "only_model_right"
    ] + comparison["only_compare_right"] == len(labelled)
    # The template model reads printed digits and digit words: it beats the random one.
    assert comparison["compare_accuracy"] > comparison["accuracy"]
    for label, entry in comparison["per_class"].items():
        mine = [r for r in labelled if r["label"] == label]
        assert entry["count"] == len(mine)
        if mine:
            a = np.mean([r["correct"] for r in mine])
            b = np.mean([r["compare_correct"] for r in mine])
            assert entry["accuracy"] == pytest.approx(a)
            assert entry["compare_accuracy"] == pytest.approx(b)
            assert entry["difference"] == pytest.approx(b - a)
    assert comparison["reliance_by"] == "label"
    for label, entry in comparison["reliance"].items():
        mine = [r for r in labelled if r["label"] == label]
        if not mine:
            continue
        for modality, share in entry["compare_shapley_share"].items():
            assert share == pytest.approx(
                np.mean([_share(r, "compare_", modality, ("image", "text")) for r in mine])
            )
        for modality, share in entry["shapley_share"].items():
            assert share == pytest.approx(
                np.mean([_share(r, "", modality, ("image", "text", "audio")) for r in mine])
            )
    for name, entry in comparison["compare_coalitions"].items():
        members = [] if name == "none" else name.split("+")
        having = [
            r for r in labelled if all(r[f"compare_shapley_{m}"] is not None for m in members)
        ]
        k = _coalitions_of(out).index(name)
        hits = [r["compare_coalition_predictions"][k] == r["label_index"] for r in having]
        assert entry["count"] == len(having)
        assert entry["accuracy"] == pytest.approx(np.mean(hits) if hits else None)
    printed = format_summary(summarize(out))
    assert "Compared with text-image-digits" in printed and "only" in printed


def _share(row, prefix, modality, modalities) -> float:
    values = {m: abs(row[f"{prefix}shapley_{m}"] or 0.0) for m in modalities}
    total = sum(values.values())
    return values[modality] / total if total > 0 else 0.0


def _coalitions_of(out) -> list[str]:
    from mmstudio.datasets.results_metadata import layout_of

    return layout_of(pads.dataset(str(out)).schema)["compare"]["coalitions"]


# ------------------------------------------------------------------------------ refusals


def test_models_with_other_labels_are_refused_before_any_analysis(first, data, tmp_path):
    from mmstudio.models import FusionConfig, FusionNet

    colours = FusionNet(FusionConfig(labels=["red", "green", "blue"], dim=16, text_layers=1))
    out = tmp_path / "never.parquet"
    with pytest.raises(InputError, match="labels differ") as caught:
        LocalAnalysis(first, read_records(data), out, compare=Analyzer(colours, "cpu"))
    message = str(caught.value)
    assert "'red', 'green'" in message or "'blue', 'green', 'red'" in message
    assert "'0', '1'" in message
    assert not out.exists()


def test_resume_continues_a_comparison_and_refuses_any_other(
    first, gated, text_image, data, tmp_path
):
    out = tmp_path / "resumed.parquet"
    LocalAnalysis(first, read_records(data, limit=10), out, batch_size=4, compare=gated).run()
    with pytest.raises(InputError, match="without a comparison model|compared with"):
        LocalAnalysis(first, read_records(data), out, resume=True)
    with pytest.raises(InputError, match="compared with 'FusionNet'|compared with '"):
        LocalAnalysis(first, read_records(data), out, resume=True, compare=text_image)
    last = LocalAnalysis(
        first, read_records(data), out, batch_size=4, resume=True, compare=gated
    ).run()
    assert last.resumed == 10 and last.done == COUNT + len(BROKEN_IDS)
    rows = {r["id"]: r for r in pads.dataset(str(out)).to_table().to_pylist()}
    _assert_compare_columns(rows, data, first, gated)

    single = tmp_path / "single.parquet"
    LocalAnalysis(first, read_records(data, limit=4), single).run()
    with pytest.raises(InputError, match="without a comparison model"):
        LocalAnalysis(first, read_records(data), single, resume=True, compare=gated)


def test_the_cache_key_includes_the_compare_model(data, tmp_path):
    from mmstudio.datasets.cache import cached_results_path

    model, other = tiny_model("attention"), tiny_model("gated", seed=1)
    alone = cached_results_path(model, data, tmp_path)
    versus = cached_results_path(model, data, tmp_path, compare=other)
    assert versus != alone
    assert cached_results_path(model, data, tmp_path, compare=other) == versus
    assert cached_results_path(model, data, tmp_path, compare=tiny_model("late")) != versus


# ------------------------------------------------------------------------------ command line


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2"}
    # Without the follow-up checks (test_dataset_aggregates.py): the summary is the rows'.
    checks_off = ("--swap-test", "0", "--faithfulness", "0")
    return subprocess.run(
        [sys.executable, "-m", "mmstudio", "analyze", *args, *checks_off],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_compare_writes_both_models_columns_into_one_file(data, tmp_path):
    from mmstudio.models import FusionConfig, FusionNet, save_checkpoint

    first = save_checkpoint(tiny_model("attention", seed=0), tmp_path / "attention")
    second = save_checkpoint(tiny_model("late", seed=2), tmp_path / "late")
    out = tmp_path / "cli.parquet"
    done = _cli(str(data), "--model", str(first), "--compare", str(second), "--out", str(out))
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "cli.summary.json").read_text(encoding="utf-8"))
    assert summary == summarize(out)
    assert summary["comparison"]["compared"] == COUNT
    assert "Compared with" in done.stdout and "agree on" in done.stdout
    expected = {
        r.id: Analyzer(get_model(str(second), torch.device("cpu")), "cpu", explain=False)
        .analyze(decode_record(r))
        .predicted_label
        for r in read_records(data, limit=5).records
    }
    rows = pads.dataset(str(out)).to_table(columns=["id", "compare_predicted"]).to_pylist()
    for row in rows:
        if row["id"] in expected:
            assert row["compare_predicted"] == expected[row["id"]]

    again = _cli(str(data), "--model", str(first), "--out", str(out), "--resume")
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "compared with" in again.stderr

    colours = FusionNet(FusionConfig(labels=["red", "green", "blue"], dim=16, text_layers=1))
    odd = save_checkpoint(colours, tmp_path / "colours")
    refused = _cli(
        str(data), "--model", str(first), "--compare", str(odd), "--out", str(tmp_path / "x")
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "labels differ" in refused.stderr and "'red'" in refused.stderr
