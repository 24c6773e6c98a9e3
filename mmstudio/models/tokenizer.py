"""A character tokenizer that accepts any Unicode text.

Characters rather than words: typos ("sevn") and unseen scripts still map to
meaningful pieces, and each token is something a person can read in the text view.
Printable ASCII keeps its own ids; every other code point is hashed into a fixed
number of buckets, so no input is ever out of vocabulary.
"""

from __future__ import annotations

import unicodedata

PAD_ID = 0
_ASCII_FIRST, _ASCII_LAST = 32, 126
_ASCII_OFFSET = 1
_HASHED_OFFSET = _ASCII_OFFSET + (_ASCII_LAST - _ASCII_FIRST + 1)
_KNUTH = 2654435761


class CharTokenizer:
    def __init__(self, vocab_size: int = 4096, max_tokens: int = 64):
        if vocab_size <= _HASHED_OFFSET + 1:
            raise ValueError(f"vocab_size must exceed {_HASHED_OFFSET + 1}")
        self.vocab_size = vocab_size
        self.max_tokens = max_tokens

    def tokenize(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).lower()
        text = " ".join(text.split())
        return list(text[: self.max_tokens])

    def token_id(self, char: str) -> int:
        code = ord(char)
        if _ASCII_FIRST <= code <= _ASCII_LAST:
            return code - _ASCII_FIRST + _ASCII_OFFSET
        buckets = self.vocab_size - _HASHED_OFFSET
        return _HASHED_OFFSET + (code * _KNUTH % 2**32) % buckets

    def encode(self, text: str) -> tuple[list[str], list[int]]:
        tokens = self.tokenize(text)
        return tokens, [self.token_id(c) for c in tokens]
