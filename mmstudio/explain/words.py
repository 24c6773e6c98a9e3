"""Words over a model's text tokens: what a text heatmap is read and tested by.

Character tokens are hard to read one by one, and a character's weight says little on its
own; a word is what a person (and the digits data) means by "the evidence". A word is a run
of letters (with their combining marks) or a run of digits. Scripts written without spaces
(Han, kana, Thai...) have no word boundaries a tokenizer can see, so each of their characters
is a word of its own. Spaces and punctuation belong to no word. A token longer than one
character (a sub-word piece) is a word of its own.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

_UNSPACED_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI", "LAO", "KHMER", "MYANMAR")


def _kind(token: str) -> str:
    """'letter', 'digit', 'own' (a word by itself) or 'none' (belongs to no word)."""
    if len(token) != 1:
        return "own" if token.strip() and any(c.isalnum() for c in token) else "none"
    category = unicodedata.category(token)
    if category.startswith("N"):
        return "digit"
    if category.startswith("L") or category.startswith("M"):
        name = unicodedata.name(token, "")
        return "own" if name.startswith(_UNSPACED_SCRIPTS) else "letter"
    return "none"


def word_spans(tokens: Sequence[str]) -> list[tuple[int, int]]:
    """[start, end) token ranges of the words, in order."""
    spans: list[tuple[int, int]] = []
    start, run = 0, "none"
    for index, token in enumerate(tokens):
        kind = _kind(token)
        # Combining marks continue whatever word they follow.
        if kind == "letter" and unicodedata.category(token).startswith("M") and run != "none":
            continue
        if kind != run or kind == "own":
            if run != "none":
                spans.append((start, index))
            start, run = index, kind
    if run != "none":
        spans.append((start, len(tokens)))
    return spans


def words_of(tokens: Sequence[str], spans: Sequence[tuple[int, int]]) -> list[str]:
    return ["".join(tokens[a:b]) for a, b in spans]


def spread_to_tokens(
    word_weights: np.ndarray, spans: Sequence[tuple[int, int]], count: int
) -> np.ndarray:
    """Token weights from word weights: every token of a word carries the word's weight,
    tokens in no word carry 0."""
    tokens = np.zeros(count, dtype=np.float32)
    for weight, (a, b) in zip(word_weights, spans, strict=True):
        tokens[a:b] = weight
    return tokens


def kept_tokens(
    tokens: Sequence[str], spans: Sequence[tuple[int, int]], dropped: set[int]
) -> list[int]:
    """Token indices left once the words in ``dropped`` are deleted, each with the space
    before it (or after it, for a leading word), so the text reads as if never written."""
    removed: set[int] = set()
    for word in dropped:
        a, b = spans[word]
        removed.update(range(a, b))
        if a > 0 and tokens[a - 1].isspace():
            removed.add(a - 1)
        elif b < len(tokens) and tokens[b].isspace():
            removed.add(b)
    return [i for i in range(len(tokens)) if i not in removed]
