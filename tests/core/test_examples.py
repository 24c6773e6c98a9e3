"""Each shipped example's note says what the shipped model does; its ``claims`` say the same
in checkable form, and this test checks every one of them against the model: the classifier's
examples against digits, the generative ones (``"model"``) against the model they name, through
the generic answer claims checker (mmstudio.analysis.answer_claims)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmstudio.analysis import Analyzer
from mmstudio.inputs import load_audio, load_image
from mmstudio.inputs.sample import Sample
from mmstudio.models.registry import get_entry, get_model
from mmstudio.resources import samples_dir
from mmstudio.training.ambiguity import honest_split
from tests.conftest import require_or_skip
from tests.core.test_training import KNOWN_MISSES

SIGNS = {"positive": 1.0, "negative": -1.0}
CLAIMS_SCRIPT = Path(__file__).resolve().parents[2] / "packaging" / "example_claims.py"


def _all_examples() -> list[dict]:
    return json.loads((samples_dir() / "examples.json").read_text(encoding="utf-8"))


def _examples() -> list[dict]:
    """The classifier's examples (about whichever model is loaded: written for digits)."""
    return [e for e in _all_examples() if not e.get("model")]


def _generative_examples() -> list[dict]:
    return [e for e in _all_examples() if e.get("model")]


@pytest.fixture(scope="module")
def analyzer():
    require_or_skip(get_entry("digits").available, "the shipped digits weights are missing")
    return Analyzer(get_model("digits"), "cpu")


def _sample(example: dict) -> Sample:
    folder = samples_dir()
    return Sample(
        image=load_image(folder / example["image"]) if example.get("image") else None,
        text=example.get("text"),
        audio=load_audio(folder / example["audio"]) if example.get("audio") else None,
    )


def _check(claim: str, expected, analysis, alone) -> None:
    if claim == "prediction":
        assert analysis.predicted_label == expected
    elif claim == "confidence_below":
        assert analysis.confidence < expected
    elif claim == "alone":
        assert {m: a.predicted_label for m, a in alone.items() if m in expected} == expected
    elif claim == "alone_confidence_below":
        for modality, bound in expected.items():
            assert alone[modality].confidence < bound, modality
    elif claim == "shapley":
        for modality, sign in expected.items():
            assert analysis.shapley[modality] * SIGNS[sign] > 0, modality
    elif claim == "shapley_below":
        for modality, bound in expected.items():
            assert analysis.shapley[modality] < bound, modality
    elif claim == "stronger":
        stronger, weaker = expected
        assert analysis.shapley[stronger] > analysis.shapley[weaker]
    elif claim == "fusion_weight":
        for modality, (low, high) in expected.items():
            assert low <= analysis.fusion_weights[modality] <= high, modality
    elif claim == "alone_honest_between":
        for modality, labels in expected.items():
            result = alone[modality]
            shares = [float(result.probabilities[result.labels.index(lab)]) for lab in labels]
            assert honest_split(shares), (modality, shares)
    elif claim == "interactions":
        pairs = analysis.interactions["shapley_interaction"]
        for pair, sign in expected.items():
            assert pairs[pair] * SIGNS[sign] > 0, pair
    else:
        raise AssertionError(f"examples.json has a claim this test does not check: {claim!r}")


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e["name"])
def test_each_examples_claims_hold_for_the_shipped_model(analyzer, example):
    claims = example.get("claims")
    assert claims, f"the example {example['name']!r} makes no checkable claim"
    # A note may describe a known miss of the shipped model (listed with the others in
    # test_training.KNOWN_MISSES, so that one list says which examples it gets wrong).
    assert (claims["prediction"] == example["expected"]) != (example["name"] in KNOWN_MISSES)
    sample = _sample(example)
    analysis = analyzer.analyze(sample)
    alone = {
        m: analyzer.analyze(sample.without(*[o for o in sample.present if o != m]))
        for m in sample.present
    }
    for claim, expected in claims.items():
        _check(claim, expected, analysis, alone)


def test_the_builder_writes_the_shipped_examples():
    from mmstudio.training.digits.samples import _EXAMPLES

    assert _EXAMPLES == _examples()
    assert _all_examples() == [*_examples(), *_generative_examples()]


def test_the_generative_examples_are_there_and_claim_only_known_facts():
    from mmstudio.analysis.answer_claims import CHECKS

    examples = _generative_examples()
    names = {e["name"] for e in examples}
    assert {"add what you see and hear", "they disagree", "the audio is missing"} <= names
    for example in examples:
        assert get_entry(example["model"]).task == "generation", example["name"]
        assert example["claims"] and set(example["claims"]) <= set(CHECKS), example["name"]
        assert example["note"] and example["text"], example["name"]
        for key in ("image", "audio"):
            assert not example[key] or (samples_dir() / example[key]).is_file()


@pytest.fixture(scope="module")
def generative_answers():
    """Every generative example explained on its shipped model, as the window would."""
    for model in {e["model"] for e in _generative_examples()}:
        require_or_skip(get_entry(model).available, f"the shipped {model} weights are missing")
    from mmstudio.gui.inputs.examples import load_examples

    return _claims_script().explain_examples(load_examples()[0], "cpu")


def _claims_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("example_claims", CLAIMS_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("example", _generative_examples(), ids=lambda e: e["name"])
def test_each_generative_examples_claims_hold_for_its_shipped_model(generative_answers, example):
    from mmstudio.analysis.answer_claims import failed_claims, observed_facts

    facts = observed_facts(generative_answers[example["name"]])
    assert failed_claims(example["claims"], facts) == []
