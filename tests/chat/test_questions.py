"""digits-chat's questions and answers: every kind answered right, held-out phrasings unseen."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mmstudio.training.chat import questions as q


def _digits(image, audio, text):
    return {"image": image, "audio": audio, "text": text}


@pytest.mark.parametrize(
    ("kind", "asked", "digits", "expected"),
    [
        ("image", ("image",), _digits(7, 3, 1), "The image shows seven."),
        ("audio", ("audio",), _digits(7, 3, 1), "The voice says three."),
        ("text", ("text",), _digits(7, 3, 1), "The text says one."),
        (
            "sum",
            ("audio", "image"),
            _digits(7, 3, 1),
            "The image shows seven and the voice says three; together they make ten.",
        ),
        (
            "sum",
            ("image", "text"),
            _digits(9, 0, 9),
            "The image shows nine and the text says nine; together they make eighteen.",
        ),
        (
            "difference",
            ("audio", "text"),
            _digits(0, 2, 8),
            "The voice says two and the text says eight; the difference is six.",
        ),
        (
            "agree",
            ("image", "audio"),
            _digits(4, 4, 0),
            "Yes: the image and the voice both say four.",
        ),
        (
            "agree",
            ("image", "text"),
            _digits(4, 1, 5),
            "No: the image shows four but the text says five.",
        ),
        (
            "larger",
            ("image", "audio"),
            _digits(2, 6, 0),
            "The image shows two and the voice says six; the voice is larger.",
        ),
        (
            "larger",
            ("audio", "text"),
            _digits(0, 5, 5),
            "The voice says five and the text says five; they are equal.",
        ),
    ],
)
def test_answers_state_each_source_and_the_result(kind, asked, digits, expected):
    assert q.answer(kind, asked, digits, ("image", "audio", "text")) == expected


def test_every_kind_and_pair_computes_the_right_number():
    """Exhaustively over all digit pairs: the number word in the answer is the true result."""
    for kind, (first, second) in itertools.product(q.PAIR_KINDS, q.PAIRS):
        for x, y in itertools.product(range(10), repeat=2):
            digits = {first: x, second: y}
            said = q.answer(kind, (first, second), digits, q.SOURCES)
            if kind == "agree" and x == y:
                assert said.endswith(f"both say {q.NUMBER_WORDS[x]}.")
                continue
            assert f"{q.STATES[first]} {q.NUMBER_WORDS[x]}" in said.lower()
            assert f"{q.STATES[second]} {q.NUMBER_WORDS[y]}" in said.lower()
            if kind == "sum":
                assert said.endswith(f"together they make {q.NUMBER_WORDS[x + y]}.")
            elif kind == "difference":
                assert said.endswith(f"the difference is {q.NUMBER_WORDS[abs(x - y)]}.")
            elif kind == "agree":
                assert said.startswith("Yes:" if x == y else "No:")
            elif x == y:
                assert said.endswith("they are equal.")
            else:
                larger = first if x > y else second
                assert said.endswith(f"the {'voice' if larger == 'audio' else larger} is larger.")


def test_missing_media_are_named_and_never_invented():
    said = q.answer("sum", ("image", "audio"), _digits(7, 3, 0), ("image", "text"))
    assert said == "The image shows seven, but there is no voice, so I cannot give the sum."
    said = q.answer("agree", ("image", "audio"), _digits(7, 3, 0), ("text",))
    assert said == "There is no image and no voice, so I cannot tell whether they agree."
    said = q.answer("image", ("image",), _digits(7, 3, 0), ("audio", "text"))
    assert said == "There is no image, so I cannot tell the digit."
    # The missing source's digit appears nowhere in the answer.
    for kind in q.PAIR_KINDS:
        said = q.answer(kind, ("image", "audio"), _digits(7, 3, 0), ("audio", "text"))
        assert "seven" not in said and "no image" in said and "three" in said


def test_describe_states_what_is_shown():
    assert q.answer("describe", (), _digits(1, 8, 0), ("image", "audio")) == (
        "The image shows one and the voice says eight."
    )
    assert q.answer("describe", (), _digits(1, 8, 0), ("audio",)) == "The voice says eight."
    with pytest.raises(ValueError, match="needs an image or an audio"):
        q.answer("describe", (), _digits(1, 8, 0), ())


def _rendered(template_set):
    """Every question a template set can produce (all nouns, both orders)."""
    out = set()
    for kind, sets in q.TEMPLATES.items():
        sources = [(kind,)] if kind in q.SINGLE_KINDS else list(q.PAIRS)
        for template, pair in itertools.product(sets[template_set], sources):
            for order in (pair, tuple(reversed(pair))):
                for nouns in itertools.product(*(q.NOUNS[s] for s in order)):
                    out.add(template.format(**dict(zip("ab", nouns, strict=False))))
    return out


def test_heldout_questions_are_never_seen_in_training():
    train, heldout = _rendered("train"), _rendered("heldout")
    assert train and heldout
    assert not train & heldout
    assert not set(q.TEXT_FRAMES["train"]) & set(q.TEXT_FRAMES["heldout"])
    for kind, sets in q.TEMPLATES.items():
        assert sets["train"] and sets["heldout"], kind
        assert not set(sets["train"]) & set(sets["heldout"]), kind


def test_heldout_phrasings_use_only_words_training_has_read():
    """A model trained from scratch knows no word it never read: held-out paraphrases recombine
    training words (a few words are read in training answers and typed texts instead)."""
    train_words = set()
    for sets in q.TEMPLATES.values():
        for template in sets["train"]:
            train_words |= {w.lower() for w in q.split_words(template.format(a="", b=""))}
    for frame in q.TEXT_FRAMES["train"]:
        train_words |= {w.lower() for w in q.split_words(frame.format(phrase=""))}
    answers = " ".join(
        q.answer(kind, pair, _digits(1, 1, 2), q.SOURCES)
        for kind in q.PAIR_KINDS
        for pair in q.PAIRS
    )
    train_words |= {w.lower() for w in q.split_words(answers)}
    heldout_words = set()
    for sets in q.TEMPLATES.values():
        for template in sets["heldout"]:
            heldout_words |= {w.lower() for w in q.split_words(template.format(a="", b=""))}
    for frame in q.TEXT_FRAMES["heldout"]:
        heldout_words |= {w.lower() for w in q.split_words(frame.format(phrase=""))}
    assert heldout_words - train_words <= q.HELDOUT_EXTRA_WORDS
    assert set(q.HELDOUT_EXTRA_WORDS) <= set(q.vocabulary())


def test_questions_are_drawn_repeatably_and_name_what_they_ask():
    def draw(seed):
        rng = np.random.default_rng(seed)
        return [q.draw_question(k, q.asked_for(k, rng), "heldout", rng) for k in q.KINDS * 5]

    first, again = draw(3), draw(3)
    assert first == again
    for question in first:
        if question.kind == "describe":
            assert question.render() is None
            continue
        assert question.template in q.TEMPLATES[question.kind]["heldout"]
        text = question.render("c'est un cinq")
        allowed = {noun for source in question.asked for noun in q.NOUNS[source]}
        assert len(question.nouns) == len(question.asked)
        assert set(question.nouns) <= allowed
        assert all(noun in text.lower() for noun in question.nouns)
        assert ("c'est un cinq" in text) == ("text" in question.asked)
    with pytest.raises(ValueError, match="typed phrase"):
        q.draw_question("text", ("text",), "train", np.random.default_rng(0)).render(None)
