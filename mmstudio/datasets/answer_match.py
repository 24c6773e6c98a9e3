"""Whether a generated answer is the expected one: normalised exact match, the SQuAD rule.

Both texts are lowercased, their punctuation deleted (ASCII, as SQuAD's script, and any other
Unicode punctuation such as curly quotes), the articles "a", "an" and "the" removed and their
whitespace collapsed; the answer is right when what remains is the same. "The cat." and "cat"
match; "a black cat" and "cat" do not (the rule is exact, not partial credit).
"""

from __future__ import annotations

import re
import string
import unicodedata

_ARTICLES = re.compile(r"\b(a|an|the)\b")
# ASCII punctuation and every Unicode punctuation character (curly quotes, the ellipsis).
_PUNCTUATION = set(string.punctuation)


def normalise_answer(text: str) -> str:
    lowered = text.lower()
    kept = "".join(
        ch
        for ch in lowered
        if ch not in _PUNCTUATION and not unicodedata.category(ch).startswith("P")
    )
    return " ".join(_ARTICLES.sub(" ", kept).split())


def exact_match(answer: str, expected: str) -> bool:
    return normalise_answer(answer) == normalise_answer(expected)
