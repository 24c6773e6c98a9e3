"""The conflict score: how much the modalities disagree, from the single-modality coalitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmstudio.analysis import Analyzer
from mmstudio.explain.conflict import jensen_shannon_bits, modality_conflict
from tests.conftest import require_module
from tests.core.helpers import random_sample, tiny_model


def test_the_divergence_is_scipys_in_bits():
    jensenshannon = require_module("scipy.spatial.distance").jensenshannon
    rng = np.random.default_rng(0)
    for _ in range(5):
        p, q = rng.dirichlet(np.ones(10)), rng.dirichlet(np.ones(10))
        assert jensen_shannon_bits(p, q) == pytest.approx(jensenshannon(p, q, base=2) ** 2)


def test_agreement_is_zero_and_certain_disagreement_is_one():
    sure_3, sure_7 = np.eye(10)[3], np.eye(10)[7]
    assert modality_conflict({"image": sure_3, "text": sure_3}) == pytest.approx(0.0)
    assert modality_conflict({"image": sure_3, "text": sure_7}) == pytest.approx(1.0)
    assert modality_conflict({"image": sure_3, "text": sure_7, "audio": sure_7}) == pytest.approx(
        2 / 3
    )
    assert modality_conflict({"image": sure_3}) is None


def test_the_analyzer_reports_each_modality_alone_and_their_conflict():
    model = tiny_model("gated")
    sample = random_sample(4)
    analysis = Analyzer(model, "cpu").analyze(sample)
    with torch.no_grad():
        encoded = model.encode(model.preprocess([sample]))
        singles = torch.eye(3, dtype=torch.bool).unsqueeze(0)
        alone = torch.softmax(model.fuse(encoded, singles).logits[0].double(), -1).numpy()
    names = ("image", "text", "audio")
    assert analysis.alone_predictions == {
        m: model.labels[int(alone[i].argmax())] for i, m in enumerate(names)
    }
    assert analysis.conflict == pytest.approx(
        modality_conflict(dict(zip(names, alone, strict=True))), abs=1e-6
    )


def test_one_modality_has_no_conflict():
    analysis = Analyzer(tiny_model(), "cpu").analyze(random_sample(1).without("image", "audio"))
    assert analysis.conflict is None and list(analysis.alone_predictions) == ["text"]
