"""Exact modality interactions, checked against shapiq's ExactComputer on the same game."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmstudio.analysis import Analyzer
from mmstudio.explain.interactions import (
    interaction_matrices,
    interaction_values,
    named_interactions,
)
from mmstudio.explain.shapley import coalition_masks, shapley_matrix, shapley_values
from mmstudio.models.registry import get_entry, get_model
from tests.conftest import require_module, require_or_skip
from tests.core.helpers import random_sample, tiny_model

shapiq = require_module("shapiq")
SHAPIQ_INDEX = {"shapley_interaction": ("SII", 2), "shapley_taylor": ("STII", 2)}


def shapiq_reference(values: np.ndarray, masks: torch.Tensor) -> dict[str, dict[tuple, float]]:
    """shapiq's exact indices of the game whose value on coalition masks[k] is values[k]."""
    lookup = {tuple(row): float(v) for row, v in zip(masks.tolist(), values, strict=True)}

    def game(coalitions: np.ndarray) -> np.ndarray:
        return np.array([lookup[tuple(bool(x) for x in row)] for row in coalitions])

    # Keywords only: shapiq 1.4 changed the order of ExactComputer's arguments.
    computer = shapiq.ExactComputer(game=game, n_players=masks.shape[1])
    found = {
        name: computer(index=index, order=order).dict_values
        for name, (index, order) in SHAPIQ_INDEX.items()
    }
    found["moebius"] = computer(index="Moebius", order=masks.shape[1]).dict_values
    return found


def assert_matches_shapiq(values: np.ndarray, masks: torch.Tensor) -> None:
    matrices = interaction_matrices(masks)
    ours = interaction_values(values[None], matrices)
    reference = shapiq_reference(values, masks)
    for name, subsets in matrices.subsets.items():
        expected = np.array([reference[name].get(subset, 0.0) for subset in subsets])
        assert np.allclose(ours[name][0], expected, atol=1e-6, rtol=0), name


@pytest.mark.reference("shapiq")
@pytest.mark.parametrize("players", [2, 3, 4])
@pytest.mark.parametrize("seed", range(5))
def test_interactions_equal_shapiq_on_random_games(players, seed):
    masks = coalition_masks(players)
    values = np.random.default_rng([players, seed]).normal(scale=3.0, size=len(masks))
    assert_matches_shapiq(values, masks)


def test_the_indices_keep_their_defining_properties():
    masks = coalition_masks(3)
    values = np.random.default_rng(7).normal(size=len(masks))
    matrices = interaction_matrices(masks)
    found = interaction_values(values[None], matrices)
    # Möbius and Shapley-Taylor are efficient: with the base they add up to the full score.
    assert values[0] + found["moebius"].sum() == pytest.approx(values[-1])
    assert values[0] + found["shapley_taylor"].sum() == pytest.approx(values[-1])
    # For two players every index of the pair is v(12) - v(1) - v(2) + v(0).
    pair = interaction_values(
        np.array([[1.0, 2.0, 4.0, 10.0]]), interaction_matrices(coalition_masks(2))
    )
    for name in ("shapley_interaction", "shapley_taylor", "moebius"):
        assert pair[name][0][-1] == pytest.approx(10.0 - 2.0 - 4.0 + 1.0)
    # An additive game has no interactions at all.
    additive = (masks.numpy() * np.array([0.5, -1.0, 2.0])).sum(1)
    for name, subsets in matrices.subsets.items():
        pairs = [i for i, s in enumerate(subsets) if len(s) > 1]
        assert np.allclose(interaction_values(additive[None], matrices)[name][0][pairs], 0.0)
    # Each Shapley value is its modality's share of every Möbius term it belongs to.
    shares = np.zeros(3)
    for subset, value in zip(matrices.subsets["moebius"], found["moebius"][0], strict=True):
        shares[list(subset)] += value / len(subset)
    assert np.allclose(shapley_values(values[None], shapley_matrix(masks))[0], shares)


def test_absent_modalities_are_left_out_and_the_rest_is_the_smaller_game():
    masks = coalition_masks(3)
    small = np.array([0.3, -1.0, 2.5, 4.0])  # image and text only: v(0), v(t), v(i), v(it)
    # The same game with audio a dummy: adding audio to any coalition changes nothing.
    by_mask = {
        (False, False): small[0],
        (False, True): small[1],
        (True, False): small[2],
        (True, True): small[3],
    }
    values = np.array([by_mask[(row[0], row[1])] for row in masks.tolist()])
    named = named_interactions(
        values, interaction_matrices(masks), ("image", "text", "audio"), ["image", "text"]
    )
    synergy = 4.0 - 2.5 - (-1.0) + 0.3
    assert named["shapley_interaction"] == pytest.approx({"image+text": synergy})
    assert named["moebius"] == pytest.approx(
        {"image": 2.5 - 0.3, "text": -1.0 - 0.3, "image+text": synergy}
    )


def analyzer_game(analyzer: Analyzer, sample) -> np.ndarray:
    """The Analyzer's value function evaluated independently, coalition by coalition."""
    model = analyzer.model
    with torch.no_grad():
        encoded = model.encode(model.preprocess([sample]))
        logits = model.fuse(encoded, coalition_masks(3).unsqueeze(0)).logits[0]
    log_probs = torch.log_softmax(logits.double(), -1)
    return log_probs[:, log_probs[-1].argmax()].numpy()


def assert_analysis_matches_shapiq(analyzer: Analyzer, sample) -> None:
    analysis = analyzer.analyze(sample)
    # The value function is the model's: evaluated again on its own it agrees to float32
    # noise (the Analyzer's batch also carries word occlusion's texts, which moves the last
    # bits of the text encoding).
    np.testing.assert_allclose(
        analysis.coalition_values, analyzer_game(analyzer, sample), rtol=0, atol=1e-5
    )
    # shapiq on that same value function: the indices agree to 1e-6.
    reference = shapiq_reference(np.asarray(analysis.coalition_values), coalition_masks(3))
    names = analysis.modalities
    for index, found in analysis.interactions.items():
        for key, value in found.items():
            subset = tuple(names.index(m) for m in key.split("+"))
            assert value == pytest.approx(reference[index].get(subset, 0.0), abs=1e-6), (index, key)
    assert len(analysis.interactions["moebius"]) == 7
    assert set(analysis.interactions["shapley_interaction"]) == {
        "image+text",
        "image+audio",
        "text+audio",
    }


@pytest.mark.reference("shapiq")
@pytest.mark.parametrize("fusion", ["attention", "tensor"])
def test_the_analyzers_interactions_equal_shapiq_on_a_model(fusion):
    assert_analysis_matches_shapiq(Analyzer(tiny_model(fusion), "cpu"), random_sample(3))


@pytest.mark.reference("shapiq")
def test_the_analyzers_interactions_equal_shapiq_on_the_shipped_model():
    require_or_skip(get_entry("digits").available, "the shipped digits weights are missing")
    from mmstudio.gui.inputs.examples import find_example, load_examples
    from mmstudio.inputs import load_audio, load_image
    from mmstudio.inputs.sample import Sample

    example = find_example("outvoted image", load_examples()[0])
    sample = Sample(
        image=load_image(example.image), text=example.text, audio=load_audio(example.audio)
    )
    assert_analysis_matches_shapiq(Analyzer(get_model("digits"), "cpu"), sample)
