"""Exact modality Shapley values and heatmaps, checked against Captum and against their definitions."""

import json

import numpy as np
import pytest
import torch

from mmstudio.analysis import Analyzer
from mmstudio.explain.shapley import coalition_masks, shapley_matrix, shapley_values
from mmstudio.inputs.errors import InputError
from mmstudio.inputs.sample import Sample
from mmstudio.models import FUSION_STRATEGIES
from mmstudio.result import Analysis
from tests.conftest import require_module
from tests.core.helpers import random_sample, tiny_model


def test_shapley_of_an_additive_game_is_each_players_own_part():
    masks = coalition_masks(3)
    parts = np.array([0.5, -1.0, 2.0])
    values = (masks.numpy() * parts).sum(1) + 7.0
    assert np.allclose(shapley_values(values[None], shapley_matrix(masks))[0], parts)


def test_shapley_splits_an_interaction_equally():
    masks = coalition_masks(2)
    values = np.array([m.all() for m in masks.numpy()], dtype=float)  # AND game
    assert np.allclose(shapley_values(values[None], shapley_matrix(masks))[0], [0.5, 0.5])


@pytest.mark.parametrize("fusion", FUSION_STRATEGIES)
def test_contributions_add_up_to_the_full_score(fusion):
    analysis = Analyzer(tiny_model(fusion), "cpu").analyze(random_sample(5))
    total = analysis.shapley_base + sum(analysis.shapley.values())
    assert total == pytest.approx(analysis.full_score, abs=1e-5)
    assert analysis.full_score == pytest.approx(np.log(analysis.confidence), abs=1e-5)


@pytest.mark.parametrize("fusion", ["attention", "gated"])
@pytest.mark.reference("captum")
def test_exact_shapley_matches_captum(fusion):
    captum = require_module("captum.attr")
    model = tiny_model(fusion)
    sample = random_sample(7)
    analysis = Analyzer(model, "cpu").analyze(sample)
    with torch.no_grad():
        encoded = model.encode(model.preprocess([sample]))

    def value(presence: torch.Tensor) -> torch.Tensor:
        """log p(predicted class) with each modality on where presence > 0.5."""
        logits = model.fuse(
            encoded.__class__(**{**encoded.__dict__}), (presence > 0.5).unsqueeze(0)
        ).logits[0]
        return torch.log_softmax(logits, -1)[:, analysis.predicted_index]

    players = torch.ones(1, 3)
    reference = captum.ShapleyValues(value).attribute(players, baselines=torch.zeros(1, 3))[0]
    ours = torch.tensor([analysis.shapley[m] for m in ("image", "text", "audio")])
    assert torch.allclose(ours, reference.double().float(), atol=1e-5)


def test_missing_modalities_get_no_contribution_and_weights_renormalise():
    sample = random_sample(2).without("image")
    analysis = Analyzer(tiny_model(), "cpu").analyze(sample)
    assert set(analysis.shapley) == {"text", "audio"}
    assert set(analysis.fusion_weights) == {"text", "audio"}
    assert sum(analysis.fusion_weights.values()) == pytest.approx(1.0)
    assert analysis.image_heatmap is None
    assert analysis.shapley_base + sum(analysis.shapley.values()) == pytest.approx(
        analysis.full_score, abs=1e-5
    )


@pytest.mark.parametrize("fusion", ["attention", "concat"])
def test_heatmaps_are_aligned_with_their_inputs(fusion):
    sample = random_sample(1, size=(150, 70), seconds=0.8)
    analysis = Analyzer(tiny_model(fusion), "cpu").analyze(sample)
    assert analysis.image_heatmap.shape == (70, 150)
    assert len(analysis.token_weights) == len(analysis.tokens) == len(sample.text)
    assert analysis.spectrogram.shape == analysis.audio_heatmap.shape
    assert analysis.spectrogram.shape[0] == 64
    assert analysis.spectrogram.shape[1] == pytest.approx(
        0.8 / analysis.spectrogram_hop_seconds, abs=2
    )
    # Attention and Grad-CAM are unsigned; word occlusion and gradient x input keep their sign.
    expected = {"attention": ["text"], "concat": ["text", "audio"]}[fusion]
    assert analysis.signed_maps == expected
    maps = {
        "image": analysis.image_heatmap,
        "text": analysis.token_weights,
        "audio": analysis.audio_heatmap,
    }
    for name, heatmap in maps.items():
        if name in analysis.signed_maps:
            assert heatmap.min() >= -1 and np.abs(heatmap).max() == pytest.approx(1.0)
        else:
            assert heatmap.min() >= 0 and heatmap.max() == pytest.approx(1.0)


def test_gradient_heatmap_follows_the_evidence():
    """Grad-CAM must light up where the image differs, not be uniform noise."""
    model = tiny_model("concat")
    analysis = Analyzer(model, "cpu").analyze(random_sample(4))
    assert analysis.heatmap_method.startswith("Grad-CAM")
    assert analysis.image_heatmap.std() > 0.01
    assert all(p.grad is None for p in model.parameters())


def test_batch_equals_single_and_timings_are_reported():
    analyzer = Analyzer(tiny_model(), "cpu")
    samples = [random_sample(i) for i in range(3)]
    batch = analyzer.analyze_batch(samples)
    single = analyzer.analyze(samples[1])
    assert np.allclose(batch[1].probabilities, single.probabilities, atol=1e-5)
    assert batch[1].shapley == pytest.approx(single.shapley, abs=1e-5)
    assert {"preprocess", "encode", "fuse_and_coalitions", "heatmaps", "total"} <= set(
        single.timings_ms
    )


def test_analysis_round_trips_through_json():
    analysis = Analyzer(tiny_model(), "cpu").analyze(random_sample(0))
    restored = Analysis.from_dict(json.loads(analysis.to_json()))
    assert restored.predicted_label == analysis.predicted_label
    assert np.allclose(restored.image_heatmap, analysis.image_heatmap)
    assert restored.shapley == analysis.shapley


def test_empty_sample_is_refused_clearly():
    with pytest.raises(InputError, match="nothing to analyse"):
        Analyzer(tiny_model(), "cpu").analyze(Sample(text="   "))


def test_long_audio_keeps_its_loudest_part_and_says_so():
    sample = random_sample(0, seconds=4.0)
    analysis = Analyzer(tiny_model(), "cpu").analyze(sample)
    assert any("loudest" in note for note in analysis.notes)
