"""What an explained answer shows, as plain facts, and a check of an example's claims against them.

A generative example in resources/samples/examples.json states in its ``claims`` what the shipped
model's explained answer shows ("the answer names seven, three and ten; image and audio both
raise it; their interaction is positive"). The claims are data: each is the name of one fact
observed here and the value it should have, so checking them is comparing, and a new claim
needs a new fact, not a new test. ``packaging/example_claims.py`` prints the observed facts of
every example, which is how the notes and claims are rewritten when the model is retrained.

The facts read the explanation where the sources decide the answer, its number words ("seven",
"ten"); the rest of an answer ("The image shows ...") follows from the question.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

INDEX = "shapley_interaction"
# Every number a digits answer can hold: a digit, a sum of two (up to 18), a difference.
NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_NUMBERS = frozenset(NUMBER_WORDS)
# How an answer says that a medium is missing: "no voice", "without an image", "the audio is
# missing". Each modality by the words an answer uses for it.
MEDIUM_WORDS = {
    "image": ("image", "picture", "photo", "drawing"),
    "audio": ("voice", "audio", "sound", "speech", "recording"),
    "text": ("text",),
}
_SIGN_TOLERANCE = 1e-9


def _lack_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    medium = "|".join(words)
    return re.compile(
        rf"\b(?:no|without)\s+(?:an?\s+|the\s+)?(?:{medium})s?\b"
        rf"|\b(?:{medium})s?\s+(?:is|are)\s+(?:missing|absent|not there)\b",
        re.IGNORECASE,
    )


_LACKS = {modality: _lack_pattern(words) for modality, words in MEDIUM_WORDS.items()}


def sign(value: float) -> str:
    if value > _SIGN_TOLERANCE:
        return "positive"
    if value < -_SIGN_TOLERANCE:
        return "negative"
    return "zero"


def number_word_tokens(analysis: Any) -> list[int]:
    """The positions of the answer's number words among its tokens."""
    return [
        i
        for i, token in enumerate(analysis.answer_tokens)
        if token.strip(" .,;:!?").lower() in _NUMBERS
    ]


def number_words(answer: str) -> list[str]:
    """The number words of an answer, in order ("seven and three make ten" -> seven, three, ten)."""
    return [w for w in re.findall(r"[a-z]+", answer.lower()) if w in _NUMBERS]


def named_missing(answer: str, present: list[str], modalities: list[str]) -> list[str]:
    """The modalities the sample lacks that the answer says are missing."""
    return [
        m
        for m in modalities
        if m not in present and m in _LACKS and _LACKS[m].search(answer) is not None
    ]


def observed_facts(analysis: Any) -> dict[str, Any]:
    """Every fact a claim can name, read from an explained answer (a GenerationAnalysis).

    - ``answer``: the answer's text; ``number_words``: its number words, in order;
    - ``names_missing``: the absent modalities the answer says are missing;
    - ``shapley``: each present modality's Shapley value on the whole answer, by sign;
      ``largest``: the modality with the largest one;
    - ``number_shapley``: the same summed over the number-word tokens (absent when the answer
      has none); ``number_largest``: for each number word in order, the present modality with
      the largest Shapley value on its own token (which medium decided that word);
    - ``interactions`` and ``number_interactions``: each pair's Shapley interaction index on
      the whole answer and summed over the number words, by sign.
    """
    present = list(analysis.present)
    modalities = list(analysis.modalities)
    facts: dict[str, Any] = {
        "answer": analysis.answer,
        "number_words": number_words(analysis.answer),
        "names_missing": named_missing(analysis.answer, present, modalities),
    }
    if analysis.answer_shapley is None:
        return facts  # not explained: only the words can be checked
    whole = dict(zip(modalities, np.asarray(analysis.answer_shapley, dtype=float), strict=True))
    facts["shapley"] = {m: sign(whole[m]) for m in modalities if m in present}
    facts["largest"] = max(present, key=lambda m: whole[m]) if present else None
    facts["interactions"] = {
        pair: sign(value) for pair, value in analysis.answer_interactions.get(INDEX, {}).items()
    }
    positions = number_word_tokens(analysis)
    if positions:
        per_token = np.asarray(analysis.token_shapley, dtype=float)[positions]
        summed = per_token.sum(0)
        facts["number_shapley"] = {
            m: sign(summed[i]) for i, m in enumerate(modalities) if m in present
        }
        facts["number_largest"] = [
            max(present, key=lambda m, row=row: row[modalities.index(m)]) for row in per_token
        ]
        pairs = analysis.token_interactions[positions[0]].get(INDEX, {})
        facts["number_interactions"] = {
            pair: sign(sum(analysis.token_interactions[t][INDEX][pair] for t in positions))
            for pair in pairs
        }
    return facts


def _same(expected: Any, observed: Any) -> bool:
    return expected == observed


def _subset(expected: dict, observed: Any) -> bool:
    """Each named modality or pair has the stated value (the others are not claimed)."""
    observed = observed or {}
    return all(observed.get(key) == value for key, value in expected.items())


def _among(expected: str | list[str], observed: Any) -> bool:
    wanted = [expected] if isinstance(expected, str) else list(expected)
    return all(m in (observed or []) for m in wanted)


# How each claim compares with its fact.
CHECKS = {
    "answer": _same,
    "number_words": _same,
    "names_missing": _among,
    "largest": _same,
    "shapley": _subset,
    "number_shapley": _subset,
    "number_largest": _same,
    "interactions": _subset,
    "number_interactions": _subset,
}


def failed_claims(claims: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    """One message per claim the facts contradict (or that names no known fact); [] when all
    hold."""
    failures = []
    for claim, expected in claims.items():
        check = CHECKS.get(claim)
        if check is None:
            known = ", ".join(CHECKS)
            failures.append(f"{claim!r} is not a claim about an answer (known: {known})")
        elif claim not in facts:
            failures.append(f"{claim}: the analysis does not show it (claimed {expected!r})")
        elif not check(expected, facts[claim]):
            failures.append(f"{claim}: claimed {expected!r}, observed {facts[claim]!r}")
    return failures
