"""Dataset-level explanation aggregates: interactions per class from the stored coalition
values, the swap test and the faithfulness of the heatmaps, each checked against the
per-record functions of mmstudio.explain run by hand on the same records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_module

torch = require_module("torch")

from mmstudio.analysis import Analyzer  # noqa: E402
from mmstudio.datasets.analysed_rows import AnalysedRows  # noqa: E402
from mmstudio.datasets.engine import LocalAnalysis  # noqa: E402
from mmstudio.datasets.faithfulness_summary import (  # noqa: E402
    faithfulness_plan,
    faithfulness_steps,
    mean_interval,
)
from mmstudio.datasets.followup import FollowUpProgress, followup_steps  # noqa: E402
from mmstudio.datasets.interaction_summary import pair_verdicts  # noqa: E402
from mmstudio.datasets.records import decode_record, read_records  # noqa: E402
from mmstudio.datasets.summary import format_summary, summarize  # noqa: E402
from mmstudio.datasets.swap_test import swap_pairs, swap_test_steps  # noqa: E402
from mmstudio.explain.faithfulness import deletion_curves  # noqa: E402
from mmstudio.explain.swaps import swap  # noqa: E402
from mmstudio.models.registry import get_model  # noqa: E402
from mmstudio.progress import run_steps  # noqa: E402
from tests.core.analysis_data import write_dataset  # noqa: E402
from tests.core.helpers import tiny_model  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(2)
    return get_model("digits", torch.device("cpu"))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("aggregates") / "data", count=35)


def _analyse(model, data: Path, out: Path) -> Path:
    LocalAnalysis(Analyzer(model, "cpu", explain=False), read_records(data), out).run()
    return out


@pytest.fixture(scope="module")
def results(model, data, tmp_path_factory) -> Path:
    return _analyse(model, data, tmp_path_factory.mktemp("results") / "results.parquet")


def drain(steps):
    """Every step of a generator, and what it returned."""
    yielded = []
    while True:
        try:
            yielded.append(next(steps))
        except StopIteration as finished:
            return yielded, finished.value


# ------------------------------------------------------------------------------ interactions


def test_the_reading_rule_on_hand_made_terms():
    single_i = np.array([0.5, 2.0, 0.1, -1.0, 1.0, 0.3, -0.2])
    single_j = np.array([0.4, 0.5, 1.5, -0.5, 1.0, 0.2, -0.3])
    synergy = np.array([1.0, 1.0, 0.2, -0.1, -2.0, 0.3, 0.1])
    # agreement; i alone; j alone; neither; a tie of singles goes to the first; a synergy only
    # equal to the stronger single is not agreement; a positive synergy over negative singles is
    assert pair_verdicts(single_i, single_j, synergy).tolist() == [0, 1, 2, 3, 1, 1, 0]


def test_interactions_per_class_are_the_analyzers_indices_averaged_by_hand(model, data, results):
    section = summarize(results)["interactions"]
    assert section["by"] == "label"
    # One record at a time, where the rows came in batches of 32: equal up to float32 noise.
    analyzer = Analyzer(model, "cpu", explain=False)
    by_class: dict[str, list] = {}
    for record in read_records(data).records:
        try:
            sample = decode_record(record)
        except Exception:  # noqa: BLE001 - the broken records are error rows
            continue
        by_class.setdefault(record.label, []).append(analyzer.analyze(sample).interactions)
    pairs = ["image+text", "image+audio", "text+audio"]
    assert section["pairs"] == pairs and section["higher_order"] == ["image+text+audio"]
    checked = 0
    for label, found in by_class.items():
        entry = section["per_class"][label]
        assert entry["count"] == len(found)
        verdicts = []  # one per record and pair it has
        for pair in pairs:
            first, second = pair.split("+")
            having = [f for f in found if pair in f["moebius"]]
            stored = entry["pairs"][pair]
            assert stored["count"] == len(having)
            if not having:
                assert stored["moebius"] is None and stored["agreement"] is None
                continue
            checked += 1
            sii = np.mean([f["shapley_interaction"][pair] for f in having])
            synergy = np.array([f["moebius"][pair] for f in having])
            a = np.array([f["moebius"][first] for f in having])
            b = np.array([f["moebius"][second] for f in having])
            assert stored["shapley_interaction"] == pytest.approx(sii, abs=1e-5)
            assert stored["moebius"] == pytest.approx(synergy.mean(), abs=1e-5)
            agreement = (synergy > 0) & (synergy > np.maximum(a, b))
            first_alone = ~agreement & (np.maximum(a, b) > 0) & (a >= b)
            second_alone = ~agreement & (np.maximum(a, b) > 0) & (a < b)
            assert stored["agreement"] == pytest.approx(agreement.mean())
            assert stored["alone"] == pytest.approx(
                {first: first_alone.mean(), second: second_alone.mean()}
            )
            assert stored["neither"] == pytest.approx(
                1 - agreement.mean() - first_alone.mean() - second_alone.mean()
            )
            neither = ~agreement & ~first_alone & ~second_alone
            for name, chosen in (
                ("agreement", agreement),
                (first, first_alone),
                (second, second_alone),
                ("neither", neither),
            ):
                verdicts += [name] * int(chosen.sum())
        pooled = entry["relies_on"]
        assert pooled["count"] == len(verdicts)
        if verdicts:
            assert pooled["agreement"] == pytest.approx(verdicts.count("agreement") / len(verdicts))
            for modality, share in pooled["alone"].items():
                assert share == pytest.approx(verdicts.count(modality) / len(verdicts))
            assert pooled["neither"] == pytest.approx(verdicts.count("neither") / len(verdicts))
        triple = [f["moebius"]["image+text+audio"] for f in found if len(f["moebius"]) == 7]
        stored = entry["higher_order"]["image+text+audio"]
        assert stored["count"] == len(triple)
        if triple:
            assert stored["moebius"] == pytest.approx(np.mean(triple), abs=1e-5)
    assert checked >= 10  # the dataset has every pair in many classes


def test_the_interactions_are_printed_per_class(results):
    text = format_summary(summarize(results))
    assert "Modality interactions by label" in text and "relies on" in text
    assert "image+text+audio" in text.split("Modality interactions")[1]


# ------------------------------------------------------------------------------ swap test


def test_the_swap_test_matches_a_hand_loop_over_swap_on_the_same_pairs(model, results):
    rows = AnalysedRows.read(results)
    rows_only = Analyzer(model, "cpu", explain=False)
    progress, section = drain(swap_test_steps(rows_only, rows, records=6, seed=3))
    assert (
        progress[-1][0]
        == progress[-1][1]
        == sum(e["n"] + e["failed"] for e in section["modalities"].values())
    )
    full = Analyzer(model, "cpu")
    for modality in rows.modalities:
        pairs = swap_pairs(rows, modality, 6, seed=3)
        assert len(pairs) == 6
        changed = to_donor = to_alone = 0
        for pair in pairs:
            assert rows.classes[pair.donor] != rows.classes[pair.recipient]
            assert rows.has(modality)[[pair.donor, pair.recipient]].all()
            outcome = swap(full, rows.sample(pair.recipient), rows.sample(pair.donor), modality)
            # What the test reads from the rows is what swap() computes again.
            assert outcome.before.predicted_index == pair.before
            assert outcome.donor_says == rows.labels[pair.donor_alone]
            changed += outcome.changed
            to_alone += outcome.follows
            to_donor += outcome.changed and outcome.after.predicted_index == pair.donor_class
        entry = section["modalities"][modality]
        assert entry["n"] == 6 and entry["failed"] == 0
        assert entry["changed"] == pytest.approx(changed / 6)
        assert entry["follows_donor_alone"] == pytest.approx(to_alone / 6)
        assert entry["follows_donor_class"] == pytest.approx(to_donor / 6)
        assert sum(c["n"] for c in entry["per_class"].values()) == 6


def test_the_swap_test_is_reproducible_with_its_seed(model, results):
    rows = AnalysedRows.read(results)
    rows_only = Analyzer(model, "cpu", explain=False)
    first = drain(swap_test_steps(rows_only, rows, records=5, seed=1))[1]
    again = drain(swap_test_steps(rows_only, rows, records=5, seed=1))[1]
    assert first == again
    assert swap_pairs(rows, "image", 5, 1) == swap_pairs(rows, "image", 5, 1)
    assert swap_pairs(rows, "image", 5, 1) != swap_pairs(rows, "image", 5, 2)


# ------------------------------------------------------------------------------ faithfulness


def test_the_faithfulness_section_is_the_per_record_curves_averaged_by_hand(data, tmp_path):
    model = tiny_model("attention")
    results = _analyse(model, data, tmp_path / "tiny.parquet")
    rows = AnalysedRows.read(results)
    progress, section = drain(
        faithfulness_steps(Analyzer(model, "cpu", explain=False), rows, records=4, seed=5)
    )
    plans = faithfulness_plan(rows, 4, seed=5)
    curves_in_all = sum(len(plan.modalities) for plan in plans)
    assert progress == [(done, curves_in_all) for done in range(1, curves_in_all + 1)]
    explained = Analyzer(model, "cpu")
    areas: dict[str, list[float]] = {}
    for plan in plans:
        sample = rows.sample(plan.row)
        analysis = explained.analyze(sample)
        for modality in plan.modalities:
            curve = deletion_curves(
                model, sample, analysis, modalities=[modality], seed=plan.seed
            ).get(modality)
            if curve is not None:
                areas.setdefault(modality, []).append(curve.area_between)
    assert section["measured"] and set(section["modalities"]) == set(areas)
    for modality, found in areas.items():
        entry = section["modalities"][modality]
        assert len(found) == entry["n"] <= 4
        assert entry["area_mean"] == pytest.approx(np.mean(found), abs=1e-5)
        assert entry["area_std"] == pytest.approx(np.std(found), abs=1e-5)
        assert entry["beats_random"] == pytest.approx(np.mean(np.array(found) > 0))
        low, high = entry["area_ci95"]
        assert entry["area_ci95"] == pytest.approx(mean_interval(np.array(found), 5))
        assert min(found) <= low <= entry["area_mean"] <= high <= max(found)


def test_a_modality_drawn_without_any_curve_says_so():
    from mmstudio.datasets.faithfulness_summary import faithfulness_section
    from mmstudio.explain.faithfulness import DeletionCurve

    mass = np.linspace(0, 1, 11)
    curve = DeletionCurve("image", mass, mass, 1 - mass, np.ones(11))
    section = faithfulness_section(
        [{"image": curve}], {"image": "fusion attention"}, records=1, seed=0, planned={"audio"}
    )
    assert section["measured"] and section["modalities"]["image"]["area_mean"] == 0.5
    assert section["modalities"]["audio"] == {
        "n": 0,
        "note": "no drawn record had a map of its audio with any mass",
    }
    nothing = faithfulness_section([], {}, records=1, seed=0, planned={"audio"})
    assert nothing["measured"] is False and "no drawn record" in nothing["reason"]


def test_a_model_without_deletion_support_says_why_and_its_swaps_still_run(data, tmp_path):
    from mmstudio.models.zeroshot import load_clip_clap
    from tests.fixtures.random_clip_clap import save_random_clip_clap

    folder = save_random_clip_clap(tmp_path / "clip-clap", labels=["dog", "cat", "car"])
    model = load_clip_clap(folder, "cpu")
    results = _analyse(model, write_dataset(tmp_path / "small", count=14), tmp_path / "zs")
    sections = run_steps(
        followup_steps(
            Analyzer(model, "cpu", explain=False), results, swap_records=3, faithfulness_records=3
        )
    )
    assert sections["faithfulness"]["measured"] is False
    assert "cannot re-encode an edited input" in sections["faithfulness"]["reason"]
    assert any(e["n"] for e in sections["swap_test"]["modalities"].values())
    text = format_summary({**summarize(results), **sections})
    assert "Faithfulness of the heatmaps: not measured: the model" in text


def test_the_follow_ups_report_their_stages_in_order_and_zero_leaves_a_check_out(model, results):
    analyzer = Analyzer(model, "cpu", explain=False)
    progress, sections = drain(
        followup_steps(analyzer, results, swap_records=2, faithfulness_records=1)
    )
    stages = [p.stage for p in progress]
    assert stages == sorted(stages, key=["swap test", "faithfulness"].index)
    assert progress[0] == FollowUpProgress("swap test", 0, 0)
    assert set(sections) == {"swap_test", "faithfulness"}
    nothing = followup_steps(analyzer, results, swap_records=0, faithfulness_records=0)
    assert set(run_steps(nothing)) == set()
    with pytest.raises(ValueError, match="must not be negative"):
        run_steps(followup_steps(analyzer, results, swap_records=-1))


# ------------------------------------------------------------------------------ command line


def test_the_command_writes_the_checks_into_the_summary(data, tmp_path):
    out = tmp_path / "cli.parquet"
    command = [sys.executable, "-m", "mmstudio", "analyze", str(data), "--out", str(out)]
    options = ["--swap-test", "4", "--faithfulness", "2", "--seed", "7"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2"}
    done = subprocess.run(
        [*command, *options], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "cli.summary.json").read_text(encoding="utf-8"))
    assert summary["swap_test"]["seed"] == 7
    assert all(e["n"] == 4 for e in summary["swap_test"]["modalities"].values())
    assert all(e["n"] <= 2 for e in summary["faithfulness"]["modalities"].values())
    assert {k: v for k, v in summary.items() if k not in ("swap_test", "faithfulness")} == (
        summarize(out)
    )
    assert "Swap test" in done.stdout and "Faithfulness of the heatmaps" in done.stdout
    bad = subprocess.run(
        [*command, "--overwrite", "--swap-test", "-1"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2 and "--swap-test" in bad.stderr


def test_the_command_defaults_are_the_checks_own():
    from mmstudio.cli import build_parser
    from mmstudio.datasets import faithfulness_summary, swap_test

    args = build_parser().parse_args(["analyze", "data"])
    assert args.swap_test == swap_test.DEFAULT_RECORDS
    assert args.faithfulness == faithfulness_summary.DEFAULT_RECORDS
