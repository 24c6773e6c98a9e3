"""Made-up words for training phrases: random syllables and near misses of number words.

A character model meeting a sentence frame it never saw looks for anything number-like in
it, and an unfamiliar word that shares letters with a number word ("crois" and "trois",
"believe" and "seven") pulls the prediction over. Training phrases therefore carry words
that look like language and sometimes like numbers, yet name none, so the model learns to
require a whole number word. None of them is a word of a validation or test frame: the
held-out frames stay as unfamiliar as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np

from mmstudio.models.tokenizer import CharTokenizer

_LATIN_CONSONANTS = "bcdfghjklmnprstvwz"
_EXTRA_LETTERS: dict[str, str] = {
    "en": "",
    "fr": "éèàçêû",
    "de": "äöüß",
    "es": "ñáéíóú",
    "it": "àèìòù",
}
_LATIN_VOWELS = "aeiou"
_CYRILLIC_CONSONANTS = "бвгджзклмнпрстфхцчшщ"
_CYRILLIC_VOWELS = "аеиоуыэюя"
_KANA = (
    "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわを"
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
)
# Frequent Han characters; the number characters among them are filtered out below.
_HAN = (
    "的是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下"
    "而过天去能对小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最"
    "女但现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间斯知世什两次使身者被高已"
    "亲其进此话常与活正感见明问力理尔点文几定本公特做外孩相西果走将月十实向声车全信重三机工"
)

Generator = Callable[[np.random.Generator], str]


def _syllables(consonants: str, vowels: str, low: int, high: int) -> Generator:
    def make(rng: np.random.Generator) -> str:
        count = int(rng.integers(low, high + 1))
        parts = []
        for _ in range(count):
            onset = consonants[int(rng.integers(len(consonants)))] if rng.random() < 0.85 else ""
            coda = consonants[int(rng.integers(len(consonants)))] if rng.random() < 0.3 else ""
            parts.append(onset + vowels[int(rng.integers(len(vowels)))] + coda)
        return "".join(parts)

    return make


def _characters(alphabet: str, low: int, high: int) -> Generator:
    def make(rng: np.random.Generator) -> str:
        count = int(rng.integers(low, high + 1))
        return "".join(alphabet[int(rng.integers(len(alphabet)))] for _ in range(count))

    return make


def _random_word_makers() -> dict[str, Generator]:
    makers: dict[str, Generator] = {
        lang: _syllables(_LATIN_CONSONANTS, _LATIN_VOWELS + extra, 1, 3)
        for lang, extra in _EXTRA_LETTERS.items()
    }
    makers["ru"] = _syllables(_CYRILLIC_CONSONANTS, _CYRILLIC_VOWELS, 1, 3)
    makers["zh"] = _characters(_HAN, 1, 3)
    makers["ja"] = _characters(_KANA + _HAN[:60], 1, 4)
    return makers


def _alphabet(lang: str) -> str:
    if lang == "ru":
        return _CYRILLIC_CONSONANTS + _CYRILLIC_VOWELS
    if lang == "zh":
        return _HAN
    if lang == "ja":
        return _KANA
    return _LATIN_CONSONANTS + _LATIN_VOWELS + _EXTRA_LETTERS[lang]


def all_number_words(number_words_by_lang: dict[str, list[list[str]]]) -> set[str]:
    """Every spelling of every digit in every language, lower-cased, and the numerals."""
    words = {str(d) for d in range(10)}
    for per_digit in number_words_by_lang.values():
        for spellings in per_digit:
            words.update(word.lower() for word in spellings)
    return words


class PseudoWords:
    """Draws training-only distractor words for one language at a time.

    ``number_words`` are every spelling of every digit (any language, numerals included);
    ``held_out_frames`` are the validation and test templates whose words must never be drawn.
    """

    def __init__(
        self,
        number_words_by_lang: dict[str, list[list[str]]],
        held_out_frames: Iterable[str],
        tokenizer: CharTokenizer | None = None,
    ):
        self.number_words_by_lang = number_words_by_lang
        self.numbers = numbers = all_number_words(number_words_by_lang)
        tokenizer = tokenizer or CharTokenizer()
        # Unusual characters share hashed token ids; one that shares an id with a number
        # character looks exactly like it to the model.
        self.number_chars = {char for word in numbers for char in word if ord(char) > 126}
        self.number_ids = {tokenizer.token_id(char) for char in self.number_chars}
        self.tokenizer = tokenizer
        self.held_out_words, self.held_out_text = _held_out(held_out_frames)
        self.random_makers = _random_word_makers()

    def draw(self, lang: str, rng: np.random.Generator, attempts: int = 50) -> str:
        """A random word, or half the time a near miss of one of ``lang``'s number words."""
        near = rng.random() < 0.5
        for _ in range(attempts):
            word = self.near_miss(lang, rng) if near else self.random_makers[lang](rng)
            if word and self.allowed(word):
                return word
        return ""

    def near_miss(self, lang: str, rng: np.random.Generator) -> str:
        """A number word of ``lang`` with one letter replaced by, or joined by, a different one.

        Never a dropped, doubled or swapped letter: those are the slips ``add_typos`` makes,
        and a slip of a number word still names the number.
        """
        spellings = [w for per_digit in self.number_words_by_lang[lang] for w in per_digit]
        word = spellings[int(rng.integers(len(spellings)))].lower()
        alphabet = _alphabet(lang)
        position = int(rng.integers(len(word)))
        letter = alphabet[int(rng.integers(len(alphabet)))]
        if letter in word[max(0, position - 1) : position + 1]:
            return ""  # would read as a doubled letter, or change nothing
        if rng.random() < 0.5:
            return word[:position] + letter + word[position + 1 :]
        return word[:position] + letter + word[position:]

    def _collides(self, char: str) -> bool:
        """True for a character hashed onto the same token id as a different number character."""
        return char not in self.number_chars and self.tokenizer.token_id(char) in self.number_ids

    def allowed(self, word: str) -> bool:
        lowered = word.lower()
        if any(number in lowered for number in self.numbers):
            return False
        if any(self._collides(char) for char in lowered):
            return False
        if lowered in self.held_out_words or lowered in self.held_out_text:
            return False
        return not any(held in lowered for held in self.held_out_words if _distinctive(held))


def _distinctive(word: str) -> bool:
    """Long enough that a word containing it shows it: three letters, or two CJK characters."""
    return len(word) >= 3 or (len(word) == 2 and all(ord(char) >= 0x2E80 for char in word))


def _held_out(frames: Iterable[str]) -> tuple[set[str], str]:
    """The words of the held-out frames, and their text run together (for unspaced scripts)."""
    words: set[str] = set()
    texts = []
    for frame in frames:
        bare = re.sub(r"\{[a-z]\}", " ", frame).lower()  # the number slots
        texts.append(bare)
        words.update(w for w in re.split(r"[\s,.:;!?'’：，、]+", bare) if w)
    return words, "\n".join(texts)
