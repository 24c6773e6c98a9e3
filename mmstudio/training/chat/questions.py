"""What digits-chat is asked and what it must answer, in words.

A question is a kind (what is asked), the modalities it asks about and a template (how it is
phrased). Templates come in two disjoint sets: ``train`` and ``heldout``. The held-out ones are
paraphrases training never sees; they reuse only words of the training templates, since a model
trained from scratch knows nothing of a word it never read (``test_questions`` checks both).

The answer is a fixed sentence per (kind, digits, modalities present): the model is scored by
exact match, so there is one right answer. A question about a modality the prompt lacks (the
image or the audio switched off) gets an answer that states what is there and names what is
missing, never a guess at it: "The image shows seven, but there is no voice, so I cannot give
the sum."

The typed number ("c'est un cinq") is part of the text the user types, so a question about the
text carries it in a frame ('the text says " c'est un cinq " .'). Without any text there is no
question: the model then describes what it sees and hears (kind ``describe``), which is also what
the explanation's coalitions without the text ask of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MEDIA = ("image", "audio")
SOURCES = ("image", "audio", "text")  # canonical order of the statements in an answer
TEMPLATE_SETS = ("train", "heldout")

SINGLE_KINDS = ("image", "audio", "text")
PAIR_KINDS = ("sum", "difference", "agree", "larger")
KINDS = (*SINGLE_KINDS, *PAIR_KINDS, "describe")
PAIRS: tuple[tuple[str, str], ...] = (("image", "audio"), ("image", "text"), ("audio", "text"))

NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen"
).split()

# How each source is named in a question; every set of templates uses all of them.
NOUNS: dict[str, tuple[str, ...]] = {
    "image": ("image", "picture"),
    "audio": ("voice", "audio", "recording"),
    "text": ("text", "note"),
}
# How each source states its number in an answer, and what a missing one is called.
STATES = {"image": "the image shows", "audio": "the voice says", "text": "the text says"}
LACKS = {"image": "no image", "audio": "no voice"}
# What the question asked for, in "so I cannot ...".
TASKS = {
    "image": "tell the digit",
    "audio": "tell the number",
    "text": "tell the number",
    "sum": "give the sum",
    "difference": "give the difference",
    "agree": "tell whether they agree",
    "larger": "tell which is larger",
}

# {a} and {b} are the nouns of the sources asked about (a single kind uses {a} only).
TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "image": {
        "train": (
            "what digit is written in the {a}?",
            "which digit does the {a} show?",
            "what number is in the {a}?",
            "tell me the digit shown in the {a}.",
            "read the digit in the {a}.",
            "what is the digit in the {a}?",
            "what does the {a} show?",
            "name the digit in the {a}.",
            "what digit can you see in the {a}?",
        ),
        "heldout": (
            "what digit does the {a} show?",
            "which number is written in the {a}?",
        ),
    },
    "audio": {
        "train": (
            "what number does the {a} say?",
            "which number is spoken in the {a}?",
            "what number do you hear in the {a}?",
            "tell me the number the {a} says.",
            "what does the {a} say?",
            "what number is said in the {a}?",
            "name the number spoken in the {a}.",
            "which number can you hear in the {a}?",
        ),
        "heldout": (
            "which number does the {a} say?",
            "what number is spoken in the {a}?",
        ),
    },
    "text": {
        "train": (
            "what number does the {a} name?",
            "which number is written in the {a}?",
            "tell me the number in the {a}.",
            "what number does the {a} give?",
            "what does the {a} say?",
            "name the number in the {a}.",
            "which number is named in the {a}?",
        ),
        "heldout": (
            "which number does the {a} name?",
            "what number is in the {a}?",
        ),
    },
    "sum": {
        "train": (
            "what is the sum of the {a} and the {b}?",
            "add the {a} and the {b}.",
            "what do the {a} and the {b} make together?",
            "how much is the {a} plus the {b}?",
            "what do the {a} and the {b} add up to?",
            "what is the total of the {a} and the {b}?",
            "sum the {a} and the {b}.",
            "add up the {a} and the {b}.",
        ),
        "heldout": (
            "what is the {a} plus the {b}?",
            "add the {a} and the {b} together.",
        ),
    },
    "difference": {
        "train": (
            "what is the difference between the {a} and the {b}?",
            "how far apart are the {a} and the {b}?",
            "subtract the smaller of the {a} and the {b} from the larger.",
            "how much does the {a} differ from the {b}?",
            "by how much do the {a} and the {b} differ?",
            "what is the gap between the {a} and the {b}?",
            "what is the larger minus the smaller of the {a} and the {b}?",
        ),
        "heldout": (
            "how much is the difference between the {a} and the {b}?",
            "what is the {a} minus the {b}, or the other way around?",
        ),
    },
    "agree": {
        "train": (
            "do the {a} and the {b} agree?",
            "do the {a} and the {b} say the same number?",
            "is the {a} the same number as the {b}?",
            "does the {a} say the same as the {b}?",
            "do the {a} and the {b} match?",
            "is the {a} in agreement with the {b}?",
            "do the {a} and the {b} give the same number?",
        ),
        "heldout": (
            "are the {a} and the {b} the same number?",
            "does the {a} agree with the {b}?",
        ),
    },
    "larger": {
        "train": (
            "which is larger, the {a} or the {b}?",
            "which number is larger: the {a} or the {b}?",
            "is the {a} larger than the {b}?",
            "which is bigger, the {a} or the {b}?",
            "which of the {a} and the {b} is larger?",
            "is the {a} bigger than the {b}?",
            "which number is greater: the {a} or the {b}?",
        ),
        "heldout": (
            "which one is larger, the {a} or the {b}?",
            "is the {a} or the {b} larger?",
        ),
    },
}
# Words of held-out templates that no training template holds: "other", "way", "around" and
# "one" (a number word) appear elsewhere in training (answers, the typed texts), so the model
# has read them; ``test_questions`` checks every other word is a training word.
HELDOUT_EXTRA_WORDS = frozenset({"other", "way", "around", "one"})

# The frame the typed text sits in, ahead of the question; split as the templates are.
TEXT_FRAMES: dict[str, tuple[str, ...]] = {
    "train": ('the text says "{phrase}".', 'note: "{phrase}".', 'I typed "{phrase}".'),
    "heldout": ('the note says "{phrase}".', 'text: "{phrase}".'),
}


@dataclass(frozen=True)
class Question:
    """A question, or none (``kind`` "describe": no text at all), about ``asked`` sources."""

    kind: str
    asked: tuple[str, ...]  # in canonical order
    template: str  # "" for describe
    nouns: tuple[str, ...] = ()  # the noun of each asked source, in the template's order
    frame: str = ""  # the typed text's frame, when the text is asked about
    template_set: str = "train"

    def render(self, phrase: str | None = None) -> str | None:
        """The user's text: the framed typed phrase (if asked about) then the question."""
        if self.kind == "describe":
            return None
        slots = dict(zip("ab", self.nouns, strict=False))
        question = _capitalised(self.template.format(**slots))
        if "text" in self.asked:
            if not phrase:
                raise ValueError("a question about the text needs the typed phrase")
            return f"{_capitalised(self.frame.format(phrase=phrase))} {question}"
        return question


def answer(kind: str, asked: Sequence[str], digits: dict[str, int], present: Sequence[str]) -> str:
    """The expected answer to a ``kind`` question about ``asked``, given each source's digit
    and the sources the prompt holds. ``describe`` states every present medium."""
    asked = _canonical(asked)
    if kind == "describe":
        shown = [m for m in MEDIA if m in present]
        if not shown:
            raise ValueError("a prompt with no text needs an image or an audio clip")
        return _sentence(_join([_state(m, digits[m]) for m in shown]))
    missing = [m for m in asked if m not in present]
    if missing:
        return _lacking(kind, asked, digits, missing)
    if kind in SINGLE_KINDS:
        return _sentence(_state(kind, digits[kind]))
    if kind not in PAIR_KINDS or len(asked) != 2:
        raise ValueError(f"unknown question kind {kind!r} about {list(asked)}")
    first, second = asked
    x, y = digits[first], digits[second]
    both = f"{_state(first, x)} and {_state(second, y)}"
    if kind == "sum":
        return _sentence(f"{both}; together they make {NUMBER_WORDS[x + y]}")
    if kind == "difference":
        return _sentence(f"{both}; the difference is {NUMBER_WORDS[abs(x - y)]}")
    if kind == "larger":
        if x == y:
            return _sentence(f"{both}; they are equal")
        return _sentence(f"{both}; the {_noun(first if x > y else second)} is larger")
    if x == y:  # agree
        return _sentence(
            f"yes: the {_noun(first)} and the {_noun(second)} both say {NUMBER_WORDS[x]}"
        )
    return _sentence(f"no: {_state(first, x)} but {_state(second, y)}")


def _lacking(kind: str, asked: tuple[str, ...], digits: dict[str, int], missing: list[str]) -> str:
    there = [m for m in asked if m not in missing]
    lacks = " and ".join(LACKS[m] for m in missing)
    stated = _join([_state(m, digits[m]) for m in there])
    if stated:
        return _sentence(f"{stated}, but there is {lacks}, so I cannot {TASKS[kind]}")
    return _sentence(f"there is {lacks}, so I cannot {TASKS[kind]}")


def _canonical(sources: Sequence[str]) -> tuple[str, ...]:
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown sources {sorted(unknown)}")
    return tuple(s for s in SOURCES if s in sources)


def _state(source: str, digit: int) -> str:
    return f"{STATES[source]} {NUMBER_WORDS[digit]}"


def _noun(source: str) -> str:
    return {"image": "image", "audio": "voice", "text": "text"}[source]


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _sentence(text: str) -> str:
    """Capitalised and closed with a full stop."""
    return _capitalised(text) + "."


def _capitalised(text: str) -> str:
    return text[0].upper() + text[1:]


def asked_for(kind: str, rng: np.random.Generator) -> tuple[str, ...]:
    """The sources a ``kind`` question asks about, drawn for the pair kinds."""
    if kind in SINGLE_KINDS:
        return (kind,)
    if kind in PAIR_KINDS:
        return PAIRS[int(rng.integers(len(PAIRS)))]
    return ()


def draw_question(
    kind: str, asked: Sequence[str], template_set: str, rng: np.random.Generator
) -> Question:
    """A question of ``kind`` about ``asked``, phrased by a template of ``template_set``, with
    the asked sources named in a random order and by random nouns."""
    if template_set not in TEMPLATE_SETS:
        raise ValueError(f"template_set must be one of {TEMPLATE_SETS}, not {template_set!r}")
    asked = _canonical(asked)
    if kind == "describe":
        return Question(kind, (), "", template_set=template_set)
    templates = TEMPLATES[kind][template_set]
    template = templates[int(rng.integers(len(templates)))]
    order = list(asked) if rng.random() < 0.5 else list(reversed(asked))
    nouns = tuple(_pick(NOUNS[s], rng) for s in order)
    frame = _pick(TEXT_FRAMES[template_set], rng) if "text" in asked else ""
    return Question(kind, asked, template, nouns, frame, template_set)


def _pick(options: Sequence[str], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def vocabulary() -> list[str]:
    """Every word of the training templates, frames, nouns and answers, in a fixed order:
    what the tokenizer knows as whole words (punctuation included)."""
    words: dict[str, None] = {}
    texts = [t for kind in TEMPLATES.values() for t in kind["train"]]
    texts += list(TEXT_FRAMES["train"]) + [n for names in NOUNS.values() for n in names]
    texts += list(STATES.values()) + list(LACKS.values()) + list(TASKS.values())
    texts += [
        "together they make the difference is they are equal larger yes no both say but "
        "there so I cannot and , ; : .?"
    ]
    texts += NUMBER_WORDS + sorted(HELDOUT_EXTRA_WORDS)
    for text in texts:
        for word in split_words(re.sub(r"\{\w+\}", " ", text)):
            if word:
                # Both cases: a sentence's first word is capitalised, in answers and by users.
                words.setdefault(word, None)
                words.setdefault(word[0].upper() + word[1:], None)
    return list(words)


def split_words(text: str) -> list[str]:
    """Words and single punctuation marks, as the tokenizer's pre-tokenizer splits them."""
    return re.findall(r"\w+|[^\w\s]", text)
