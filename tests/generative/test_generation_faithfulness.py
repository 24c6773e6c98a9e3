"""Deletion curves of a generated answer's maps: the ordering logic on hand-made scorers, and
the curves of a real tiny model's maps, whose ends are the full answer's log-probability and
the everything-deleted input's."""

from __future__ import annotations

import numpy as np
import pytest

from mmstudio.analysis import Analyzer
from mmstudio.models.generative.faithfulness import (
    answer_deletion_curves,
    deletion_curve,
    deletion_inputs,
    summarize,
)
from mmstudio.models.generative.options import GenerationOptions
from tests.generative.test_answers import full_sample, open_model


class RecordingScorer:
    """The answer's log-probability is -0.1 while the carrying unit is kept, -5 once deleted."""

    def __init__(self, carrier: int):
        self.carrier = carrier
        self.calls: list[list[np.ndarray]] = []

    def __call__(self, masks):
        self.calls.append([m.copy() for m in masks])
        return np.array([-5.0 if m[self.carrier] else -0.1 for m in masks])


def test_a_map_equal_to_the_occlusion_drop_beats_its_reverse_order():
    carrier = 3
    drop = np.zeros(8)
    drop[carrier] = 4.9  # what occluding each unit alone costs the answer
    found = deletion_curve(drop, RecordingScorer(carrier), steps=8, repeats=4, seed=1)
    reverse = deletion_curve(-drop, RecordingScorer(carrier), steps=8, repeats=4, seed=1)
    assert found.ranked[1] == -5.0  # the first unit deleted is the carrier
    assert reverse.ranked[-2] == -0.1  # the reverse order keeps it to the very end
    assert found.ranked_area < reverse.ranked_area
    assert found.ranked_area == pytest.approx(0.5 / 8)  # the one trapezoid from 1 to 0
    assert reverse.ranked_area == pytest.approx(1 - 0.5 / 8)
    assert found.gain > 0 > reverse.gain
    # Random orders lie between, and share the curve's ends.
    assert found.random[0] == found.ranked[0] == -0.1
    assert found.random[-1] == found.ranked[-1] == -5.0


def test_the_scorer_is_called_once_with_every_step_of_every_order():
    scorer = RecordingScorer(0)
    curve = deletion_curve(np.arange(6.0), scorer, steps=3, repeats=2, seed=0)
    assert len(scorer.calls) == 1
    masks = scorer.calls[0]
    # nothing deleted, everything deleted, then 2 inner steps for the map and each random order
    assert len(masks) == 2 + 3 * 2
    assert not masks[0].any() and masks[1].all()
    assert [int(m.sum()) for m in masks[2:]] == [2, 4] * 3
    # The map's order deletes its largest cells first.
    assert np.flatnonzero(masks[2]).tolist() == [4, 5]
    assert np.flatnonzero(masks[3]).tolist() == [2, 3, 4, 5]
    assert len(curve.fraction) == len(curve.ranked) == len(curve.random) == 4


def test_a_rasterised_map_deletes_whole_cells_in_its_order():
    # A 2x2 map over 4x4 pixels: each cell holds 4 pixels.
    rows, columns = np.mgrid[0:4, 0:4]
    units = ((rows // 2) * 2 + columns // 2).ravel()
    weights = np.array([[0.1, 0.9], [0.5, 0.0]])
    scorer = RecordingScorer(0)
    deletion_curve(weights, scorer, units=units, steps=4, repeats=1)
    ranked = scorer.calls[0][2:5]  # 25%, 50%, 75% of the pixels, in the map's order
    assert set(units[ranked[0]]) == {1}
    assert set(units[ranked[1]]) == {1, 2}
    assert set(units[ranked[2]]) == {0, 1, 2}


def test_a_flat_curve_has_no_area_and_is_counted_apart():
    curve = deletion_curve(np.arange(4.0), lambda masks: np.full(len(masks), -1.0), steps=2)
    assert curve.flat and np.isnan(curve.ranked_area)
    summary = summarize([{"text": curve}])["text"]
    assert summary.answers == 0 and summary.flat == 1


def test_a_map_without_finite_values_is_refused():
    with pytest.raises(ValueError, match="finite"):
        deletion_curve(np.array([np.nan, 1.0]), lambda masks: np.zeros(len(masks)))


def test_curves_of_a_real_answer_run_from_the_full_to_the_deleted_input(tiny_model):
    model = open_model(tiny_model("qwen25_omni_thinker"))
    sample = full_sample("qwen25_omni_thinker")
    analysis = Analyzer(model, "cpu").generate(sample, GenerationOptions(max_new_tokens=4))
    ids = analysis.answer_token_ids
    assert ids
    curves = answer_deletion_curves(model, sample, analysis, ids, steps=5, repeats=2)
    assert sorted(curves) == ["audio", "image", "text"]
    full = analysis.token_coalition_logprobs[-1].sum()
    present = [tuple(sample.present)]
    for modality, curve in curves.items():
        assert len(curve.ranked) == len(curve.random) == 6
        assert curve.ranked[0] == pytest.approx(full, abs=1e-4)
        _, _, make = deletion_inputs(modality, model, sample, analysis)
        gone = make(np.ones(curve.units, dtype=bool))
        everything = model.answer_logprobs([gone], present, ids)[0].sum()
        assert curve.ranked[-1] == pytest.approx(everything, abs=1e-4)
        assert curve.random[0] == curve.ranked[0] and curve.random[-1] == curve.ranked[-1]
    # Everything deleted: one colour, silence, a blank question.
    _, _, make = deletion_inputs("image", model, sample, analysis)
    painted = np.asarray(make(np.ones(curves["image"].units, dtype=bool)).image)
    assert (painted == painted[0, 0]).all()
    _, _, make = deletion_inputs("audio", model, sample, analysis)
    assert not make(np.ones(curves["audio"].units, dtype=bool)).audio.samples.any()
    _, _, make = deletion_inputs("text", model, sample, analysis)
    assert make(np.ones(curves["text"].units, dtype=bool)).text == " "


def test_image_deletion_stays_inside_the_part_the_grid_covers(tiny_model):
    # LLaVA's processor crops the centre of a 96x64 image: the side strips are never seen.
    model = open_model(tiny_model("llava"))
    model.map_methods = {"image": "attention"}  # its grid is the crop's; occlusion's the image's
    sample = full_sample("llava", 96, 64)
    analysis = Analyzer(model, "cpu").generate(sample, GenerationOptions(max_new_tokens=2))
    x0, _, x1, _ = analysis.image_map_box
    assert 0 < x0 < x1 < 1
    _, units, make = deletion_inputs("image", model, sample, analysis)
    assert len(units) == 64 * 64
    original = np.asarray(sample.image)
    painted = np.asarray(make(np.ones(len(units), dtype=bool)).image)
    assert (painted[:, :16] == original[:, :16]).all()
    assert (painted[:, 80:] == original[:, 80:]).all()
    assert (painted[:, 16:80] == painted[0, 16]).all()
