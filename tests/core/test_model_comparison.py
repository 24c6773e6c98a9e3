"""Two models on one sample: the verdict follows their real predictions."""

from __future__ import annotations

from mmstudio.analysis import Analyzer
from mmstudio.explain.model_comparison import ModelComparison
from tests.core.helpers import random_sample, tiny_model


def _analysis(fusion: str, seed: int, sample):
    return Analyzer(tiny_model(fusion=fusion, seed=seed), "cpu").analyze(sample)


def test_two_models_that_disagree_are_named_with_their_predictions():
    sample = random_sample(3)
    found = None
    for seed in range(8):  # random weights: find a pair that disagrees on this sample
        first, second = _analysis("attention", 0, sample), _analysis("late", seed, sample)
        if first.predicted_label != second.predicted_label:
            found = first, second
            break
    assert found is not None, "eight random late-fusion models all agreed with the first"
    first, second = found
    comparison = ModelComparison("A", first, "B", second)
    assert not comparison.agree
    assert comparison.verdict() == (
        f"They disagree: A predicts {first.predicted_label} ({first.confidence:.0%}), "
        f"B predicts {second.predicted_label} ({second.confidence:.0%})."
    )


def test_one_model_against_itself_agrees():
    sample = random_sample(1)
    analysis = _analysis("gated", 2, sample)
    comparison = ModelComparison("A", analysis, "B", analysis)
    assert comparison.agree
    assert comparison.verdict() == f"Both models predict {analysis.predicted_label}."
