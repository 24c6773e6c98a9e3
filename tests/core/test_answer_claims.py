"""The generative examples' claims checker on a hand-made explained answer: the facts come from
the same explain code the answers' analyzer uses, on a value function built so that each fact is
known (the sum's "ten" needs the image and the audio together)."""

from __future__ import annotations

import numpy as np
import pytest

from mmstudio.analysis.answer_claims import (
    failed_claims,
    named_missing,
    number_words,
    observed_facts,
)
from mmstudio.explain.interactions import interaction_matrices, named_interactions
from mmstudio.explain.shapley import coalition_masks, shapley_matrix, shapley_values
from mmstudio.result import GenerationAnalysis

MODALITIES = ["image", "text", "audio"]
TOKENS = ["Seven", " and", " three", " make", " ten", "."]


def _value(coalition: set[str], token: str) -> float:
    """log p(token | coalition) up to a constant: the image says seven, the audio three, and
    ten takes both; the text (the question) only shapes the filler words."""
    word = token.strip(" .").lower()
    if word == "seven":
        return 2.0 * ("image" in coalition)
    if word == "three":
        return 1.5 * ("audio" in coalition)
    if word == "ten":
        return 3.0 * ({"image", "audio"} <= coalition)
    return 0.25 * ("text" in coalition)


def hand_made(
    present=MODALITIES, tokens=TOKENS, answer="Seven and three make ten.", explained=True
):
    masks = coalition_masks(len(MODALITIES))
    analysis = GenerationAnalysis(
        modalities=list(MODALITIES),
        present=[m for m in MODALITIES if m in present],
        answer=answer,
        answer_tokens=list(tokens),
    )
    if not explained:
        return analysis
    coalitions = [
        {m for m, keep in zip(MODALITIES, row, strict=True) if keep and m in present}
        for row in masks.tolist()
    ]
    values = np.array([[_value(c, t) for t in tokens] for c in coalitions])  # (K, T)
    matrix, pairs = shapley_matrix(masks), interaction_matrices(masks)
    analysis.token_shapley = shapley_values(values.T, matrix)
    analysis.answer_shapley = shapley_values(values.sum(1)[None], matrix)[0]
    analysis.token_interactions = [
        named_interactions(values[:, t], pairs, MODALITIES, analysis.present)
        for t in range(len(tokens))
    ]
    analysis.answer_interactions = named_interactions(
        values.sum(1), pairs, MODALITIES, analysis.present
    )
    return analysis


def test_the_facts_of_a_sum_answer():
    facts = observed_facts(hand_made())
    assert facts["answer"] == "Seven and three make ten."
    assert facts["number_words"] == ["seven", "three", "ten"]
    assert facts["names_missing"] == []
    assert facts["number_shapley"] == {"image": "positive", "text": "zero", "audio": "positive"}
    # Each number word's own decider: seven the image, three the audio ("ten" ties them).
    assert facts["number_largest"][:2] == ["image", "audio"]
    assert facts["number_interactions"] == {
        "image+text": "zero",
        "image+audio": "positive",
        "text+audio": "zero",
    }
    # Whole answer: the image carries seven and half of ten (3.5), the audio 1.5 + 1.5.
    assert facts["shapley"] == {"image": "positive", "text": "positive", "audio": "positive"}
    assert facts["largest"] == "image"
    assert facts["interactions"]["image+audio"] == "positive"


def test_claims_that_hold_pass_and_each_false_one_is_named():
    facts = observed_facts(hand_made())
    holding = {
        "answer": "Seven and three make ten.",
        "number_words": ["seven", "three", "ten"],
        "number_shapley": {"image": "positive", "audio": "positive"},
        "number_interactions": {"image+audio": "positive"},
        "largest": "image",
    }
    assert failed_claims(holding, facts) == []
    wrong = {
        **holding,
        "number_words": ["seven", "three", "nine"],
        "number_interactions": {"image+audio": "negative"},
        "largest": "audio",
    }
    assert failed_claims(wrong, facts) == [
        "number_words: claimed ['seven', 'three', 'nine'], observed ['seven', 'three', 'ten']",
        "number_interactions: claimed {'image+audio': 'negative'}, observed "
        "{'image+text': 'zero', 'image+audio': 'positive', 'text+audio': 'zero'}",
        "largest: claimed 'audio', observed 'image'",
    ]


def test_an_unknown_claim_and_an_unexplained_answer_fail_with_a_reason():
    facts = observed_facts(hand_made(explained=False))
    assert set(facts) == {"answer", "number_words", "names_missing"}
    assert failed_claims({"number_shapley": {"image": "positive"}, "mood": "happy"}, facts) == [
        "number_shapley: the analysis does not show it (claimed {'image': 'positive'})",
        "'mood' is not a claim about an answer (known: answer, number_words, names_missing, "
        "largest, shapley, number_shapley, number_largest, interactions, number_interactions)",
    ]


def test_a_missing_medium_is_named_only_when_absent_and_said():
    tokens = ["The", " image", " shows", " seven", ",", " but", " there", " is", " no", " voice"]
    answer = "The image shows seven, but there is no voice, so I cannot give the sum."
    analysis = hand_made(present=["image", "text"], tokens=tokens, answer=answer)
    facts = observed_facts(analysis)
    assert facts["names_missing"] == ["audio"]
    assert facts["number_words"] == ["seven"]
    assert facts["number_shapley"] == {"image": "positive", "text": "zero"}
    assert "audio" not in facts["shapley"] and facts["number_interactions"] == {
        "image+text": "zero"
    }
    assert failed_claims({"names_missing": "audio"}, facts) == []
    assert failed_claims({"names_missing": ["image"]}, facts) == [
        "names_missing: claimed ['image'], observed ['audio']"
    ]


@pytest.mark.parametrize(
    ("answer", "present", "named"),
    [
        ("There is no voice, so I cannot tell the number.", ["image", "text"], ["audio"]),
        ("Without an image I cannot tell the digit.", ["audio", "text"], ["image"]),
        ("The audio is missing.", ["text"], ["audio"]),
        ("There is no image and no voice.", ["text"], ["image", "audio"]),
        # Present media are never "missing", and mentioning a medium is not naming a lack.
        ("There is no voice.", ["image", "text", "audio"], []),
        ("The image shows seven.", ["image", "text"], []),
    ],
)
def test_named_missing(answer, present, named):
    assert named_missing(answer, present, MODALITIES) == named


def test_number_words_are_whole_words_in_order():
    assert number_words("Seventeen, not seven; none is ten.") == ["seventeen", "seven", "ten"]
