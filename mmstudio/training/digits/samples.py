"""The handful of sample inputs shipped with the app (resources/samples/).

They come from the *test* pools (held-out fonts, handwriting, voices and phrasings), so trying
them in the window shows the default model on inputs it never trained on. ``examples.json``
names ready-made combinations, including ones where the modalities disagree, which is where a
fusion model's behaviour is most interesting to watch.

Those are the classifier's examples. Examples about another model (``"model": "digits-chat"``)
are written into examples.json by hand and checked by packaging/example_claims.py: rewriting the
samples keeps them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mmstudio.training.corruption import corrupt_image

from . import images, speech

_SAMPLE_STREAM = 99  # keeps sample randomness apart from the dataset's streams

_PRINTED = {"digit_3.png": 3, "digit_7.png": 7, "digit_9.png": 9}
_HANDWRITTEN = {"handwritten_5.png": 5, "handwritten_2.png": 2}
_NOISY = {"noisy_4.png": 4}  # a level-3 corrupted image, to show speech rescuing it
_SPOKEN = {"seven.wav": 7, "two.wav": 2, "three.wav": 3, "four.wav": 4, "five.wav": 5}
_TEXTS: list[tuple[str, int, str]] = [
    ("I think it is a seven", 7, "en"),
    ("the number is 3", 3, "en"),
    ("deux", 2, "fr"),
    ("c'est un cinq", 5, "fr"),
    ("die Antwort ist vier", 4, "de"),
    ("creo que es nueve", 9, "es"),
    ("è un sette", 7, "it"),
    ("это семь", 7, "ru"),
    ("我觉得是九", 9, "zh"),
    ("答えはななです", 7, "ja"),
]

# Each note says what the shipped model does with the example; ``claims`` states the same in a
# form tests/core/test_examples.py checks against the model, so a retrained model that behaves
# differently fails there instead of leaving a note that is no longer true.
_EXAMPLES: list[dict] = [
    {
        "name": "all agree: seven",
        "image": "digit_7.png",
        "audio": "seven.wav",
        "text": "I think it is a seven",
        "expected": "7",
        "note": "Image, speech and text each say 7 on their own. Their interactions are negative: they carry the same evidence, so each adds less once another is there.",
        "claims": {
            "prediction": "7",
            "alone": {"image": "7", "text": "7", "audio": "7"},
            "interactions": {
                "image+text": "negative",
                "image+audio": "negative",
                "text+audio": "negative",
            },
        },
    },
    {
        "name": "outvoted image",
        "image": "digit_3.png",
        "audio": "seven.wav",
        "text": "seven",
        "expected": "7",
        "note": "The image alone says 3; speech and text say seven, and the model answers 7. The fusion weights barely move (the image keeps about a quarter of the attention); the Shapley values show what changed the answer: the image lowers log p(7) by more than 3.",
        "claims": {
            "prediction": "7",
            "alone": {"image": "3", "text": "7", "audio": "7"},
            "shapley": {"image": "negative", "text": "positive", "audio": "positive"},
            "shapley_below": {"image": -3.0},
            "fusion_weight": {"image": [0.15, 0.35]},
        },
    },
    {
        "name": "outvoted speech",
        "image": "handwritten_5.png",
        "audio": "three.wav",
        "text": "c'est un cinq",
        "expected": "5",
        "note": "A known miss. The speech alone says 3; the handwriting and the French text say 5, yet the model answers 3, with under 60% confidence. This attention model gives the voice about half of its attention, and one confident voice outweighs two modalities that agree. The Shapley values show it: the speech raises log p(3) more than anything else, and the image and the text each lower it by more than 1.5.",
        "claims": {
            "prediction": "3",
            "confidence_below": 0.6,
            "alone": {"image": "5", "text": "5", "audio": "3"},
            "shapley": {"image": "negative", "text": "negative", "audio": "positive"},
            "shapley_below": {"image": -1.5, "text": -1.5},
            "stronger": ["audio", "image"],
        },
    },
    {
        "name": "noisy image, clear speech",
        "image": "noisy_4.png",
        "audio": "four.wav",
        "text": None,
        "expected": "4",
        "note": "The image is corrupted at level 3: alone the model is unsure what it shows (under 50% confidence). With the clear spoken four it answers 4, and the speech carries the prediction (the larger Shapley value).",
        "claims": {
            "prediction": "4",
            "alone": {"audio": "4"},
            "alone_confidence_below": {"image": 0.5},
            "stronger": ["audio", "image"],
        },
    },
    {
        "name": "the text names two digits",
        "image": "digit_7.png",
        "audio": None,
        "text": "three or seven",
        "expected": "7",
        "note": "The text allows two digits: alone it splits its belief between 3 and 7 and gives neither more than 90%, as the label sets it was trained with ask (docs/dataset-format.md). The image of a 7 settles it.",
        "claims": {
            "prediction": "7",
            "alone": {"image": "7"},
            "alone_honest_between": {"text": ["3", "7"]},
        },
    },
    {
        "name": "handwriting only",
        "image": "handwritten_2.png",
        "audio": None,
        "text": None,
        "expected": "2",
        "note": "A single modality: the others use the model's absent embeddings.",
        "claims": {"prediction": "2"},
    },
    {
        "name": "speech only",
        "image": None,
        "audio": "two.wav",
        "text": None,
        "expected": "2",
        "note": "A held-out voice the model never heard in training: it still answers 2.",
        "claims": {"prediction": "2"},
    },
    {
        "name": "text only, French",
        "image": None,
        "audio": None,
        "text": "deux",
        "expected": "2",
        "note": "French text alone: number words in eight languages are understood.",
        "claims": {"prediction": "2"},
    },
    {
        "name": "image and Russian text",
        "image": "digit_9.png",
        "audio": None,
        "text": "я думаю, это девять",
        "expected": "9",
        "note": "The image and the Russian text each say 9; speech is absent.",
        "claims": {"prediction": "9", "alone": {"image": "9", "text": "9"}},
    },
    {
        "name": "Chinese text and speech",
        "image": None,
        "audio": "five.wav",
        "text": "我猜是五",
        "expected": "5",
        "note": "Cross-lingual agreement: English speech and Chinese text each say 5.",
        "claims": {"prediction": "5", "alone": {"text": "5", "audio": "5"}},
    },
]


def write_samples(out_dir: str | Path, *, seed: int = 0) -> list[Path]:
    """Write sample images, WAVs, texts and ``examples.json``; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = _write_images(out, seed) + _write_audio(out, seed) + _write_texts(out)
    examples = out / "examples.json"
    entries = [*_EXAMPLES, *_other_models_examples(examples)]
    examples.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return [*written, examples]


def _other_models_examples(index: Path) -> list[dict]:
    """The examples already in ``index`` that name a model of their own (kept as they are)."""
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict) and e.get("model")]


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SAMPLE_STREAM, *key])


def _write_images(out: Path, seed: int) -> list[Path]:
    test_fonts = images.fonts_by_split()["test"]
    written = []
    for k, (name, digit) in enumerate({**_PRINTED, **_NOISY}.items()):
        rng = _rng(seed, 1, k)
        image = images.render_printed(digit, images.pick_font(test_fonts, rng), rng)
        if name in _NOISY:
            image = corrupt_image(image, 3, rng)
        written.append(_save(image, out / name))
    hand_images, hand_labels = images.handwriting()
    test_pool = images.handwriting_indices("test")
    for k, (name, digit) in enumerate(_HANDWRITTEN.items()):
        rng = _rng(seed, 2, k)
        candidates = test_pool[hand_labels[test_pool] == digit]
        index = int(candidates[int(rng.integers(len(candidates)))])
        written.append(_save(images.render_handwritten(hand_images[index], rng), out / name))
    return written


def _save(image, path: Path) -> Path:
    image.save(path)
    return path


def _write_audio(out: Path, seed: int) -> list[Path]:
    test_voices = speech.voices_by_split()["test"]
    plans = [
        speech.plan_utterance(digit, test_voices, (seed, _SAMPLE_STREAM, 3, k))
        for k, digit in enumerate(_SPOKEN.values())
    ]
    written = []
    for name, clip in zip(_SPOKEN, speech.synthesize_many(plans), strict=True):
        speech.write_wav(out / name, clip)
        written.append(out / name)
    return written


def _write_texts(out: Path) -> list[Path]:
    lines = [phrase for phrase, _, _ in _TEXTS]
    txt = out / "texts.txt"
    txt.write_text("\n".join(lines) + "\n", encoding="utf-8")
    jsonl = out / "texts.jsonl"
    jsonl.write_text(
        "".join(
            json.dumps({"text": p, "expected": str(d), "lang": lang}, ensure_ascii=False) + "\n"
            for p, d, lang in _TEXTS
        ),
        encoding="utf-8",
    )
    return [txt, jsonl]
