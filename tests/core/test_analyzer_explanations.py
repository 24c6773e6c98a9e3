"""What the Analyzer fills beyond Shapley values: the fusion attention over every token, and
the heatmaps of whole-model plugins."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmstudio.analysis import Analyzer
from mmstudio.model_outputs import FusionOutput, Heatmaps
from tests.core.helpers import random_sample, tiny_model


def test_fusion_attention_covers_every_token_and_matches_the_modality_weights():
    model = tiny_model("attention")
    sample = random_sample(3)
    analysis = Analyzer(model, "cpu").analyze(sample)
    with torch.no_grad():
        encoded = model.encode(model.preprocess([sample]))
        spans = model.fuse(encoded, sample_presence()).attention_spans
    attention, names = analysis.fusion_attention, analysis.fusion_attention_modalities
    assert len(attention) == len(names) == max(end for _, end in spans.values())
    assert list(dict.fromkeys(names)) == ["image", "text", "audio"]
    assert attention.sum() == pytest.approx(1.0, abs=1e-5)
    for modality, (start, end) in spans.items():
        assert set(names[start:end]) == {modality}
        # All three are present, so no mass is left on the absent slots and the per-token
        # attention adds up to the model's own modality weights.
        assert attention[start] == pytest.approx(0.0, abs=1e-7)
        assert attention[start:end].sum() == pytest.approx(
            analysis.fusion_weights[modality], abs=1e-5
        )


def sample_presence() -> torch.Tensor:
    return torch.ones(1, 1, 3, dtype=torch.bool)


def test_an_absent_modality_puts_its_mass_on_its_absent_slot():
    model = tiny_model("attention")
    analysis = Analyzer(model, "cpu").analyze(random_sample(1).without("audio"))
    names = np.array(analysis.fusion_attention_modalities)
    audio = analysis.fusion_attention[names == "audio"]
    assert audio[0] > 0 and np.all(audio[1:] == 0)


def test_strategies_without_token_attention_leave_it_empty():
    analysis = Analyzer(tiny_model("gated"), "cpu").analyze(random_sample(2))
    assert analysis.fusion_attention is None and analysis.fusion_attention_modalities == []


class WholeModelWithHeatmaps(torch.nn.Module):
    """A split model seen as a black box that still explains itself, as a plugin may."""

    name = "whole-with-heatmaps"

    def __init__(self):
        super().__init__()
        self.inner = tiny_model("concat")
        self.labels = self.inner.labels
        self.modalities = self.inner.modalities
        self.calls: list[tuple] = []

    def coalition_logits(self, samples, presence):
        batch = self.inner.preprocess(samples)
        return self.inner.fuse(self.inner.encode(batch), presence).logits

    def tokens_for(self, samples, row):
        return list(samples[row].text)

    def heatmaps(self, batch, encoded, output, predicted):
        self.calls.append((batch, encoded, output, predicted))
        inner_batch = self.inner.preprocess(batch)
        with torch.no_grad():
            inner_encoded = self.inner.encode(inner_batch)
        maps = self.inner.heatmaps(inner_batch, inner_encoded, output, predicted)
        return [Heatmaps(m.image, m.tokens, m.audio, "the plugin's own") for m in maps]


def test_whole_models_get_their_heatmaps_called_and_shown():
    model = WholeModelWithHeatmaps()
    sample = random_sample(4)
    analysis = Analyzer(model, "cpu").analyze(sample)
    ((batch, encoded, output, predicted),) = model.calls
    assert batch == [sample] and encoded is None
    assert isinstance(output, FusionOutput) and output.logits.shape == (1, 1, 10)
    assert predicted.tolist() == [analysis.predicted_index]
    assert analysis.heatmap_method == "the plugin's own"
    assert analysis.image_heatmap.shape == (sample.image.height, sample.image.width)
    assert analysis.tokens == list(sample.text)
    assert len(analysis.token_weights) == len(analysis.tokens)
    assert "heatmaps" in analysis.timings_ms


def test_whole_models_skip_heatmaps_when_explanations_are_off():
    model = WholeModelWithHeatmaps()
    analysis = Analyzer(model, "cpu", explain=False).analyze(random_sample(5))
    assert model.calls == [] and analysis.image_heatmap is None
