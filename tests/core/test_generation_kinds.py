"""A question/answer dataset analysed per question kind (the manifest's label): the records
``mmstudio build-digits-chat`` writes, answered by the tiny Qwen2.5-Omni thinker (image, audio
and text), with the accuracy of every coalition checked against separate ``mmstudio analyze``
runs over the same records with the other modalities removed from the manifest."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from itertools import combinations
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from mmstudio.analysis import load_analyzer
from mmstudio.cli import main
from mmstudio.datasets.answer_match import exact_match
from mmstudio.datasets.generation_summary import ALL_LABELS
from mmstudio.datasets.records import decode_record, read_records
from mmstudio.training.chat import questions
from mmstudio.training.chat.data import build_chat_records, read_chat_manifest
from mmstudio.training.chat_dataset import BUILD_INFO
from mmstudio.training.manifest import read_manifest
from tests.chat.helpers import write_fake_digits

TOKENS = 3
RECORDS = 9


@pytest.fixture(scope="module")
def model_folder(tiny_model_folders):
    return tiny_model_folders["qwen25_omni_thinker"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    write_fake_digits(folder, splits=("test",))
    return folder


def analyze(data, model_folder, out, *extra) -> dict:
    status = main(
        [
            "analyze",
            str(data),
            "--model",
            str(model_folder),
            "--out",
            str(out),
            "--max-new-tokens",
            str(TOKENS),
            "--device",
            "cpu",
            "--workers",
            "1",
            *extra,
        ]
    )
    assert status == 0
    return json.loads(out.with_name(f"{out.stem}.summary.json").read_text())


def rows_of(out) -> dict[str, dict]:
    table = pads.dataset(str(out), format="parquet").to_table()
    return {row["id"]: row for row in table.to_pylist()}


def write_rows(folder: Path, rows: list[dict]) -> None:
    folder.mkdir()
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_build_digits_chat_writes_a_dataset_the_manifest_reader_opens(digits, tmp_path, capsys):
    out = tmp_path / "questions"
    args = ["build-digits-chat", str(digits), str(out), "--records", "40", "--seed", "5"]
    assert main([*args, "--split", "test", "--templates", "heldout"]) == 0
    assert "40 questions (" in capsys.readouterr().out
    # The same records data.py draws, with the media copied into the folder.
    expected = build_chat_records(
        read_manifest(digits).split("test"), 40, seed=5, template_set="heldout"
    )
    written = read_chat_manifest(out)
    assert [r.id for r in written] == [r.id for r in expected]
    for mine, theirs in zip(written, expected, strict=True):
        assert (mine.kind, mine.answer, mine.text, mine.digits) == (
            theirs.kind,
            theirs.answer,
            theirs.text,
            theirs.digits,
        )
        for medium in ("image", "audio"):
            copied, source = getattr(mine, medium), getattr(theirs, medium)
            assert (copied is None) == (source is None)
            if copied is not None:
                assert copied.is_relative_to(out.resolve())
                assert copied.read_bytes() == source.read_bytes()
    # The ordinary reader: the label is the question kind, the answer the expected one.
    dataset = read_records(out)
    assert dataset.labels == list(questions.KINDS)
    assert {r.label for r in dataset.records} <= set(questions.KINDS)
    assert all(r.answer for r in dataset.records)
    manifest_text = (out / "manifest.jsonl").read_text()
    assert str(digits) not in manifest_text  # relative paths only: the folder stands alone
    info = json.loads((out / BUILD_INFO).read_text())
    assert info["records"] == 40 and info["templates"] == "heldout" and info["seed"] == 5
    assert sum(info["kinds"].values()) == 40
    # A second build into the same folder, or from a split the build lacks, writes nothing.
    assert main(args) == 2
    assert "exists already" in capsys.readouterr().err
    assert (
        main(["build-digits-chat", str(digits), str(tmp_path / "other"), "--split", "train"]) == 2
    )
    assert "has no 'train' records" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["questions"]


@pytest.fixture(scope="module")
def kinds_dataset(digits, model_folder, tmp_path_factory):
    """Questions of several kinds whose expected answers are the tiny model's answers under
    different coalitions (chosen round the coalitions), so the coalitions score differently."""
    root = tmp_path_factory.mktemp("kinds")
    built = root / "built"
    assert main(["build-digits-chat", str(digits), str(built), "--records", str(RECORDS)]) == 0
    analyze(built, model_folder, root / "first.parquet", "--coalition-answers")
    answers = rows_of(root / "first.parquet")
    lines = [json.loads(line) for line in (built / "manifest.jsonl").read_text().splitlines()]
    for index, line in enumerate(lines):
        under = answers[line["id"]]["coalition_answers"]
        line["answer"] = under[(index * 3) % len(under)]
    (built / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return built, lines


@pytest.fixture(scope="module")
def analysed(kinds_dataset, model_folder, tmp_path_factory):
    """The dataset analysed with every coalition's answer: (summary, printed, results)."""
    out = tmp_path_factory.mktemp("analysed") / "all.parquet"
    capture = io.StringIO()
    with contextlib.redirect_stdout(capture):
        summary = analyze(kinds_dataset[0], model_folder, out, "--coalition-answers")
    return summary, capture.getvalue(), out


def test_every_coalition_per_kind_matches_runs_with_the_modalities_removed(
    kinds_dataset, analysed, model_folder, tmp_path
):
    data, lines = kinds_dataset
    summary, printed, results = analysed
    rows = rows_of(results)
    modalities = summary["modalities"]
    assert set(modalities) == {"image", "audio", "text"}
    labels = sorted({line["label"] for line in lines})
    assert len(labels) > 1
    assert list(summary["per_label"]) == [*labels, ALL_LABELS]

    # Separate runs: each coalition's manifest holds only its modalities of each record; a
    # record left with none is answered from the empty prompt (no analysis has an input).
    analyzer = load_analyzer(str(model_folder), "cpu")
    from mmstudio.models.generative.options import GenerationOptions

    options = GenerationOptions(max_new_tokens=TOKENS)
    correct: dict[str, dict[str, bool]] = {}
    coalitions = [c for size in range(len(modalities) + 1) for c in combinations(modalities, size)]
    for coalition in coalitions:
        name = "+".join(coalition) or "none"
        kept_rows, empty = [], []
        for line in lines:
            kept = {k: v for k, v in line.items() if k not in modalities or k in coalition}
            for medium in ("image", "audio"):  # the media stay in the built folder
                if medium in kept:
                    kept[medium] = str(data / kept[medium])
            if any(m in kept for m in modalities):
                kept_rows.append(kept)
            else:
                empty.append(line)
        outcome = {}
        if kept_rows:
            folder = tmp_path / f"only-{name}"
            write_rows(folder, kept_rows)
            analyze(folder, model_folder, tmp_path / f"only-{name}.parquet")
            for row in rows_of(tmp_path / f"only-{name}.parquet").values():
                assert row["error"] is None
                outcome[row["id"]] = row["correct"]
        for line in empty:
            record = next(r for r in read_records(data).records if r.id == line["id"])
            nothing = analyzer.model.generate(decode_record(record), options, coalition=())
            outcome[line["id"]] = exact_match(
                analyzer.model.decode(nothing.token_ids), line["answer"]
            )
        correct[name] = outcome

    seen = set()
    for label in labels:
        ids = [line["id"] for line in lines if line["label"] == label]
        entry = summary["per_label"][label]
        assert entry["with_expected_answer"] == entry["count"] == len(ids)
        for name, outcome in correct.items():
            hits = sum(outcome[i] for i in ids)
            assert entry["coalitions"][name] == {"count": len(ids), "accuracy": hits / len(ids)}
            seen.add(entry["coalitions"][name]["accuracy"])
        # The full coalition is each record's own prompt: the kind's exact-match accuracy.
        assert entry["coalitions"][list(summary["coalitions"])[-1]]["accuracy"] == pytest.approx(
            entry["accuracy"]
        )
        assert entry["accuracy"] == sum(rows[i]["correct"] for i in ids) / len(ids)
    assert len(seen) > 1  # the expected answers were chosen so that coalitions differ
    overall = summary["per_label"][ALL_LABELS]
    assert overall["count"] == RECORDS and overall["accuracy"] == pytest.approx(summary["accuracy"])

    # Reliance per kind: the mean share of the answer's |Shapley| per modality, as a slice.
    for label in labels:
        chosen = [row for row in rows.values() if row["label"] == label]
        reliance = summary["reliance"][f"label={label}"]
        for m in modalities:
            shares = []
            for row in chosen:
                magnitude = {k: abs(row[f"shapley_{k}"] or 0.0) for k in modalities}
                shares.append(magnitude[m] / sum(magnitude.values()))
            assert reliance["shapley_share"][m] == pytest.approx(sum(shares) / len(shares))
        assert reliance["shapley_share"] == summary["per_label"][label]["shapley_share"]
    # The printed table: one line per kind with its exact match and every coalition.
    assert "Per label: exact match" in printed
    table = printed.split("Per label: exact match", 1)[1].splitlines()
    for label in labels:
        line = next(t for t in table if t.strip().startswith(label + " "))
        assert f"{summary['per_label'][label]['accuracy']:.1%}" in line


def test_the_csv_export_spreads_each_coalitions_answer(analysed, tmp_path):
    from mmstudio.datasets.export import write_table

    summary, _printed, results = analysed
    table = pads.dataset(str(results), format="parquet").to_table()
    path = write_table(table, tmp_path / "rows.csv")
    with path.open(newline="") as handle:
        exported = {row["id"]: row for row in csv.DictReader(handle)}
    names = list(summary["coalitions"])
    for row in table.to_pylist():
        line = exported[row["id"]]
        assert [line[f"answer_{n}"] for n in names] == row["coalition_answers"]
        assert [line[f"correct_{n}"] for n in names] == [
            str(c).lower() for c in row["coalition_correct"]
        ]
