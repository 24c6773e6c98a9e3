"""``mmstudio analyze`` on a generative model: one row per record (the answer, its coalition
log-probabilities and Shapley values), exact-match accuracy overall, per coalition and per
slice, and resume. In-process through ``mmstudio.cli.main``, the tiny LLaVA folder opening by
path as ``--model DIR`` does."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.dataset as pads
import pytest
from PIL import Image

from mmstudio.analysis import load_analyzer
from mmstudio.cli import main
from mmstudio.datasets.answer_match import exact_match, normalise_answer
from mmstudio.datasets.records import read_records
from mmstudio.inputs.errors import InputError
from mmstudio.models import save_checkpoint
from mmstudio.models.generative.options import GenerationOptions
from mmstudio.training.manifest import read_manifest
from tests.conftest import require_module
from tests.core.helpers import tiny_model
from tests.generative.tiny_models import sample_image

TOKENS = 4
OPTIONS = GenerationOptions(max_new_tokens=TOKENS)
QUESTIONS = [
    "what is this ?",
    "what colour is the sky ?",
    "who is the man ?",
    "where is the dog ?",
    "is it a cat ?",
    "what do you hear ?",
]


@pytest.fixture(scope="module")
def model_folder(tiny_model_folders):
    return tiny_model_folders["llava"]


@pytest.fixture(scope="module")
def analyzer(model_folder):
    return load_analyzer(str(model_folder), "cpu")


def coalition_samples(sample):
    """The sample as each coalition (image/text order of the model) sees it, by switching the
    other modalities off: None where nothing is left."""
    everything = ("image", "text")
    out = []
    for kept in ([], ["text"], ["image"], ["image", "text"]):
        dropped = [m for m in everything if m not in kept and m in sample.present]
        out.append(sample.without(*dropped) if dropped else sample)
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, analyzer):
    """Six records (five with an image and a text, one text only) whose expected answers are
    chosen from the answers under different coalitions, so the coalitions score differently."""
    root = tmp_path_factory.mktemp("answers")
    sample_image().save(root / "wide.png")
    Image.new("RGB", (40, 60), (20, 200, 40)).save(root / "green.png")
    rows = []
    for index, question in enumerate(QUESTIONS):
        row = {"id": f"q{index}", "text": question, "topic": "colour" if index % 2 else "thing"}
        if index < 5:
            row["image"] = "wide.png" if index % 2 == 0 else "green.png"
        rows.append(row)
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    records = read_records(root).records
    from mmstudio.datasets.records import decode_record

    def answer(sample) -> str:
        return analyzer.generate(sample, OPTIONS, explain=False).answer

    samples = [decode_record(r) for r in records]
    full = [answer(s) for s in samples]
    text_only = [
        answer(s.without("image")) if "image" in s.present else full[i]
        for i, s in enumerate(samples)
    ]
    image_only = [answer(s.without("text")) if "image" in s.present else None for s in samples]
    expected = [
        full[0],
        full[1].upper() + ".",  # normalisation: case and punctuation
        text_only[2],
        text_only[3],
        image_only[4],
        "the " + full[5],  # an article
    ]
    for row, answer_text in zip(rows, expected, strict=True):
        row["answer"] = answer_text
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def analyze(dataset, model_folder, out, *extra):
    return main(
        [
            "analyze",
            str(dataset),
            "--model",
            str(model_folder),
            "--out",
            str(out),
            "--max-new-tokens",
            str(TOKENS),
            "--device",
            "cpu",
            *extra,
        ]
    )


def read_rows(out) -> list[dict]:
    table = pads.dataset(str(out), format="parquet").to_table()
    return sorted(table.to_pylist(), key=lambda row: row["id"])


def test_rows_hold_the_answer_and_its_explanation(
    dataset, model_folder, analyzer, tmp_path, capsys
):
    out = tmp_path / "results.parquet"
    assert analyze(dataset, model_folder, out) == 0
    printed = capsys.readouterr().out
    rows = read_rows(out)
    assert [row["id"] for row in rows] == [f"q{i}" for i in range(6)]
    from mmstudio.datasets.records import decode_record

    for row, record in zip(rows, read_records(dataset).records, strict=True):
        assert row["error"] is None
        reference = analyzer.generate(decode_record(record), OPTIONS, maps=False)
        assert row["answer"] == reference.answer
        assert row["answer_tokens"] == len(reference.answer_token_ids) <= TOKENS
        assert row["finished"] == reference.finished
        values = reference.token_coalition_logprobs.sum(1)
        np.testing.assert_allclose(row["coalition_values"], values, atol=1e-5)
        assert row["shapley_base"] == pytest.approx(values[0], abs=1e-5)
        assert row["full_score"] == pytest.approx(values[-1], abs=1e-5)
        shapley = reference.shapley_of()
        assert row["shapley_text"] == pytest.approx(shapley["text"], abs=1e-5)
        if record.image is None:
            assert row["shapley_image"] is None and row["present_image"] is False
        else:
            assert row["shapley_image"] == pytest.approx(shapley["image"], abs=1e-5)
        # Efficiency for the whole answer: base + values = the full prompt's value.
        total = row["shapley_base"] + row["shapley_text"] + (row["shapley_image"] or 0.0)
        assert total == pytest.approx(row["full_score"], abs=1e-6)
        assert row["expected_answer"] == record.answer
        assert row["correct"] == exact_match(row["answer"], record.answer)
        # Without --coalition-answers no other answer is generated.
        assert row["coalition_answers"] is None and row["coalition_correct"] is None
    summary = json.loads((tmp_path / "results.summary.json").read_text())
    assert summary["task"] == "generation"
    right = sum(row["correct"] for row in rows)
    assert summary["accuracy"] == pytest.approx(right / 6)
    assert all(entry["count"] == 0 for entry in summary["coalitions"].values())
    assert f"Exact-match accuracy {right / 6:.1%}" in printed
    assert "Accuracy by coalition: not measured (--coalition-answers" in printed


def test_accuracy_of_every_coalition_matches_runs_with_modalities_switched_off(
    dataset, model_folder, analyzer, tmp_path, capsys
):
    out = tmp_path / "results.parquet"
    assert analyze(dataset, model_folder, out, "--coalition-answers") == 0
    summary = json.loads((tmp_path / "results.summary.json").read_text())
    from mmstudio.datasets.records import decode_record

    counts = np.zeros(4, dtype=int)
    hits = np.zeros(4, dtype=int)
    for record in read_records(dataset).records:
        sample = decode_record(record)
        for k, (kept, switched) in enumerate(
            zip(
                ([], ["text"], ["image"], ["image", "text"]), coalition_samples(sample), strict=True
            )
        ):
            if any(m not in sample.present for m in kept):
                continue  # a record counts for a coalition only if it has all its modalities
            counts[k] += 1
            if not switched.present:
                nothing = analyzer.model.generate(sample, OPTIONS, coalition=())  # no input
                answer = analyzer.model.decode(nothing.token_ids)
            else:
                answer = analyzer.generate(switched, OPTIONS, explain=False).answer
            hits[k] += exact_match(answer, record.answer)
    names = ["none", "text", "image", "image+text"]
    for k, name in enumerate(names):
        assert summary["coalitions"][name] == {
            "count": int(counts[k]),
            "accuracy": hits[k] / counts[k],
        }
    # The expected answers were chosen from different coalitions: they do not all score alike.
    assert len({summary["coalitions"][name]["accuracy"] for name in names}) > 1
    rows = read_rows(out)
    for row in rows:
        assert row["coalition_answers"][-1] == row["answer"]
        assert row["coalition_correct"] == [
            exact_match(a, row["expected_answer"]) for a in row["coalition_answers"]
        ]
    # Reliance per slice: the mean share of the answer's |Shapley| per modality.
    for topic in ("colour", "thing"):
        chosen = [row for row in rows if row["meta_topic"] == topic]
        shares = []
        for row in chosen:
            magnitude = np.array([abs(row["shapley_image"] or 0.0), abs(row["shapley_text"])])
            shares.append(magnitude / magnitude.sum())
        entry = summary["reliance"][f"topic={topic}"]
        assert entry["count"] == len(chosen)
        np.testing.assert_allclose(
            [entry["shapley_share"]["image"], entry["shapley_share"]["text"]],
            np.mean(shares, 0),
        )
        assert entry["accuracy"] == pytest.approx(np.mean([row["correct"] for row in chosen]))
    assert summary["reliance"]["all records"]["count"] == 6
    assert "Accuracy by coalition of modalities" in capsys.readouterr().out


def test_resume_finishes_the_rest_and_refuses_other_decoding(
    dataset, model_folder, tmp_path, capsys
):
    out = tmp_path / "results.parquet"
    assert analyze(dataset, model_folder, out, "--limit", "3") == 0
    first = read_rows(out)
    assert [row["id"] for row in first] == ["q0", "q1", "q2"]
    parts = sorted(p.name for p in out.iterdir())
    # Without --resume or --overwrite the rows are kept and the run refused.
    assert analyze(dataset, model_folder, out) == 2
    assert "already holds results" in capsys.readouterr().err
    # Another decoding (more tokens) is another layout: refused, the rows untouched.
    assert analyze(dataset, model_folder, out, "--resume", "--max-new-tokens", "6") == 2
    assert "holds results of another model or dataset layout" in capsys.readouterr().err
    assert analyze(dataset, model_folder, out, "--resume") == 0
    rows = read_rows(out)
    assert [row["id"] for row in rows] == [f"q{i}" for i in range(6)]
    assert rows[:3] == first  # the earlier rows were kept, not analysed again
    assert set(parts) < {p.name for p in out.iterdir()}
    summary = json.loads((tmp_path / "results.summary.json").read_text())
    assert summary["records"] == 6 and summary["analysed"] == 6


def test_generation_options_are_refused_for_a_classifier_and_on_ray(dataset, tmp_path, capsys):
    save_checkpoint(tiny_model(), tmp_path / "classifier")
    args = ["analyze", str(dataset), "--model", str(tmp_path / "classifier")]
    assert main([*args, "--out", str(tmp_path / "a"), "--coalition-answers"]) == 2
    assert "--coalition-answers: for generative models" in capsys.readouterr().err
    assert (
        main([*args, "--out", str(tmp_path / "b"), "--engine", "ray", "--max-new-tokens", "3"]) == 2
    )
    assert "the ray engine analyses classifiers only for now" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_normalised_exact_match_is_squads_rule():
    assert normalise_answer("  The  Cat, sat.") == "cat sat"
    assert normalise_answer("“An” apple!") == "apple"
    assert normalise_answer("don't") == "dont"
    assert exact_match("A dog", "dog") and exact_match("DOG.", "the dog")
    assert not exact_match("a black dog", "dog")
    assert not exact_match("", "dog") and exact_match("", "the")


def test_the_manifest_reads_an_expected_answer(tmp_path):
    lines = [
        {"id": "a", "text": "q", "answer": "yes"},
        {"id": "b", "text": "q", "expected_answer": 42},
        {"id": "c", "text": "q", "answer": "no", "expected_answer": "no"},
        {"id": "d", "text": "q"},
    ]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    records = read_manifest(tmp_path, require_labels=False).records
    assert [r.answer for r in records] == ["yes", "42", "no", None]
    assert all("answer" not in r.meta and "expected_answer" not in r.meta for r in records)
    lines.append({"id": "e", "text": "q", "answer": "no", "expected_answer": "yes"})
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    with pytest.raises(InputError, match="line 5: answer and expected_answer differ"):
        read_manifest(tmp_path, require_labels=False)


def test_the_ray_engine_refuses_a_generative_model_before_starting(
    dataset, model_folder, tmp_path, capsys
):
    require_module("ray.data", "the ray engine needs ray[data] (pip install 'mmstudio[scale]')")
    out = tmp_path / "results.parquet"
    args = ["analyze", str(dataset), "--model", str(model_folder), "--out", str(out)]
    assert main([*args, "--engine", "ray", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "the ray engine analyses classifiers only for now" in err and "--engine local" in err
    assert not out.exists()


def test_a_generative_model_has_its_own_weights_fingerprint(model_folder, analyzer):
    """Results folders (and the window's cache) are keyed by it: another model's differs."""
    import torch

    from mmstudio.datasets.results_metadata import model_fingerprint

    first = model_fingerprint(analyzer.model)
    other = load_analyzer(str(model_folder), "cpu").model
    assert model_fingerprint(other) == first  # the same weights, loaded again
    with torch.no_grad():
        other.hf_model.get_input_embeddings().weight[0, 0] += 1.0
    assert model_fingerprint(other) != first
