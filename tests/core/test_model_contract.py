"""The model contract the Analyzer checks (mmstudio.models.protocol): which way a model runs,
the models it refuses and why, coalitions restricted to the sample's modalities for every
kind of model, and the efficiency check on every analysis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image

from mmstudio.analysis import EFFICIENCY_TOLERANCE, Analyzer
from mmstudio.explain.shapley import coalition_masks, shapley_matrix, shapley_values
from mmstudio.inputs import AudioClip, InputError, Sample
from mmstudio.model_outputs import FusionOutput
from mmstudio.models.protocol import (
    FusionModel,
    SplitFusionModel,
    WholeFusionModel,
    model_task,
)
from tests.core.helpers import random_sample, tiny_model

NOT_ADDING_UP = "the Shapley values do not add up"
MODALITIES = ("image", "text", "audio")


@dataclass
class EvidenceBatch:
    present: torch.Tensor  # (B, M)
    evidence: torch.Tensor  # (B, M, C)

    def to(self, device):
        return EvidenceBatch(self.present.to(device), self.evidence.to(device))


class EvidenceModel(torch.nn.Module):
    """Adds each modality's evidence for two labels. An absent modality's slot holds a fixed
    placeholder, not zeros, as an untrained "missing" embedding would: only a fuse that
    switches absent modalities off gives the evidence of the modalities the sample has."""

    name = "evidence"
    labels = ["dark", "bright"]
    modalities = MODALITIES
    task = "classification"
    PLACEHOLDER = torch.tensor([0.9, -0.4])

    def __init__(self):
        super().__init__()
        self.presence_seen: list[torch.Tensor] = []

    def preprocess(self, samples):
        evidence = self.PLACEHOLDER.repeat(len(samples), len(MODALITIES), 1)
        for row, sample in enumerate(samples):
            if sample.image is not None:
                level = float(np.asarray(sample.image.convert("L")).mean()) / 255.0 - 0.5
                evidence[row, 0] = torch.tensor([-2.0 * level, 2.0 * level])
            if sample.text is not None:
                bright = sum(w in {"bright", "sunny"} for w in sample.text.lower().split())
                evidence[row, 1] = torch.tensor([-1.0 * bright, 1.0 * bright])
            if sample.audio is not None:
                loud = float(np.abs(sample.audio.samples).mean())
                evidence[row, 2] = torch.tensor([-loud, loud])
        present = torch.tensor([[m in s.present for m in MODALITIES] for s in samples])
        return EvidenceBatch(present, evidence)

    def encode(self, batch):
        return batch

    def taking_part(self, encoded, presence):
        """(B, K, M): the honest model also drops what the sample lacks."""
        return presence & encoded.present.unsqueeze(1)

    def fuse(self, encoded, presence):
        self.presence_seen.append(presence.clone())
        taking_part = self.taking_part(encoded, presence).unsqueeze(-1).float()
        return FusionOutput((encoded.evidence.unsqueeze(1) * taking_part).sum(2), None)


class ForgetsAbsence(EvidenceModel):
    """A plugin that honours ``presence`` but forgets the sample's own absent modalities."""

    name = "forgets-absence"

    def taking_part(self, encoded, presence):
        return presence


class OwnMasks(EvidenceModel):
    """A plugin that ignores ``presence`` and switches modalities by the coalitions' order, so
    its scores change with modalities the sample lacks whatever the Analyzer asks."""

    name = "own-masks"

    def taking_part(self, encoded, presence):
        return coalition_masks(len(MODALITIES)).unsqueeze(0).expand(presence.shape[0], -1, -1)


class WholeOwnMasks(torch.nn.Module):
    """The same mistake in a model that takes samples whole."""

    name = "whole-own-masks"
    labels = EvidenceModel.labels
    modalities = MODALITIES

    def __init__(self):
        super().__init__()
        self.inner = OwnMasks()

    def coalition_logits(self, samples, presence):
        return self.inner.fuse(self.inner.preprocess(samples), presence).logits


def _no_audio() -> Sample:
    return Sample(image=Image.new("RGB", (16, 16), (200, 200, 200)), text="a sunny day")


def _everything() -> Sample:
    clip = AudioClip((0.3 * np.sin(np.arange(8000) * 0.05)).astype(np.float32), 16000)
    return Sample(image=Image.new("RGB", (16, 16), (40, 40, 40)), text="bright", audio=clip)


def _gap(analysis) -> float:
    return analysis.shapley_base + sum(analysis.shapley.values()) - analysis.full_score


# --- which way a model runs, and what is refused ----------------------------------------------


def test_the_protocols_tell_the_two_ways_to_run():
    split, whole = EvidenceModel(), WholeOwnMasks()
    assert isinstance(split, SplitFusionModel) and not isinstance(split, WholeFusionModel)
    assert isinstance(whole, WholeFusionModel) and not isinstance(whole, SplitFusionModel)
    assert isinstance(split, FusionModel) and not isinstance(whole, FusionModel)  # no task
    assert isinstance(tiny_model(), FusionModel) and tiny_model().task == "classification"
    assert Analyzer(split, "cpu").prepare([_no_audio()]) is not None
    assert Analyzer(whole, "cpu").prepare([_no_audio()]) is None


def test_a_model_without_a_task_is_explained_as_a_classifier():
    model = WholeOwnMasks()
    assert not hasattr(model, "task") and model_task(model) == "classification"
    assert Analyzer(model, "cpu").analyze(_everything()).predicted_label == "bright"


class _Incomplete:
    name = "incomplete"
    labels = ["a", "b"]
    modalities = ("text",)

    def __init__(self):
        self.moved = False

    def to(self, device):
        self.moved = True
        return self

    def eval(self):
        return self

    def preprocess(self, samples):
        return samples

    def fuse(self, encoded, presence):
        return encoded


class _Nothing:
    name = "nothing"
    labels = ["a"]

    def to(self, device):
        return self

    def eval(self):
        return self


class _NoLabels:
    name = "no-labels"

    def to(self, device):
        return self

    def eval(self):
        return self

    def coalition_logits(self, samples, presence):
        return torch.zeros(*presence.shape[:2], 2)


class _Generator(EvidenceModel):
    name = "generator"
    task = "generation"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            _Incomplete(),
            "the model 'incomplete' cannot be explained: it has preprocess, fuse but no "
            "encode: a split model needs all of preprocess, encode and fuse "
            "(see docs/plugins.md)",
        ),
        (
            _Nothing(),
            "the model 'nothing' cannot be explained: it has neither preprocess, encode and "
            "fuse (a split model) nor coalition_logits (a whole model) (see docs/plugins.md)",
        ),
        (
            _NoLabels(),
            "the model 'no-labels' cannot be explained: it has no labels (see docs/plugins.md)",
        ),
        (
            _Generator(),
            "the model 'generator' cannot be explained: it declares the task 'generation' and "
            "has no generate or answer_logprobs or token_texts (see docs/plugins.md)",
        ),
    ],
)
def test_a_model_outside_the_contract_is_refused_at_construction(model, expected):
    with pytest.raises(InputError) as refused:
        Analyzer(model, "cpu")
    assert str(refused.value) == expected
    assert not getattr(model, "moved", False)  # refused before anything ran


# --- coalitions restricted to the sample, and efficiency ----------------------------------------


def test_every_kind_of_model_gets_coalitions_without_the_modalities_the_sample_lacks():
    model = EvidenceModel()
    Analyzer(model, "cpu").analyze_batch([_no_audio(), _everything()])
    (presence,) = model.presence_seen
    assert presence.shape == (2, 8, 3)
    assert not presence[0, :, 2].any()  # no audio in the first sample: never switched on
    assert torch.equal(presence[1], coalition_masks(3))  # the second has all three


def test_a_plugin_that_forgets_absence_gets_the_honest_models_numbers():
    sample = _no_audio()
    # Under every coalition of all three modalities, as the Analyzer used to ask, this plugin
    # gives the absent audio a value, and the present ones' values would not add up.
    forgetful = ForgetsAbsence()
    unrestricted = coalition_masks(3).unsqueeze(0)
    logits = forgetful.fuse(forgetful.preprocess([sample]), unrestricted).logits[0]
    values = torch.log_softmax(logits, -1)[:, 1].double().numpy()
    phi = shapley_values(values[None], shapley_matrix(coalition_masks(3)))[0]
    assert abs(phi[2]) > 0.1

    honest = Analyzer(EvidenceModel(), "cpu").analyze(sample)
    restricted = Analyzer(forgetful, "cpu").analyze(sample)
    assert restricted.predicted_label == honest.predicted_label == "bright"
    assert restricted.shapley == honest.shapley and list(restricted.shapley) == ["image", "text"]
    assert restricted.shapley_base == honest.shapley_base
    assert restricted.full_score == honest.full_score
    np.testing.assert_array_equal(restricted.probabilities, honest.probabilities)
    assert abs(_gap(restricted)) < 1e-12
    assert not any(NOT_ADDING_UP in note for note in restricted.notes)


@pytest.mark.parametrize("model", [OwnMasks(), WholeOwnMasks()], ids=["split", "whole"])
def test_scores_that_change_with_an_absent_modality_become_a_note(model):
    analysis = Analyzer(model, "cpu").analyze(_no_audio())
    # The analysis is made and says what went wrong: the audio it lacks took a value.
    notes = [note for note in analysis.notes if NOT_ADDING_UP in note]
    assert len(notes) == 1, analysis.notes
    gap = _gap(analysis)
    assert abs(gap) > EFFICIENCY_TOLERANCE
    # The missing part is the audio's value: the placeholder's evidence for "bright", -0.4.
    values = analysis.coalition_values
    assert values[0] == pytest.approx(np.log(0.5))
    assert f"audio {-gap:+.4g}" in notes[0]
    assert f"the full input scores {analysis.full_score:.4f}" in notes[0]
    assert list(analysis.shapley) == ["image", "text"]


def test_the_same_plugin_adds_up_when_the_sample_has_every_modality():
    analysis = Analyzer(OwnMasks(), "cpu").analyze(_everything())
    assert abs(_gap(analysis)) < 1e-12 and not analysis.notes


@pytest.mark.parametrize("fusion", ["attention", "concat"])
def test_fusionnet_analyses_add_up_and_carry_no_such_note(fusion):
    full = random_sample(3)
    samples = [full, full.without("audio"), full.without("image", "text"), Sample(text="seven")]
    for analysis in Analyzer(tiny_model(fusion), "cpu").analyze_batch(samples):
        assert abs(_gap(analysis)) < 1e-9
        assert not any(NOT_ADDING_UP in note for note in analysis.notes), analysis.notes
