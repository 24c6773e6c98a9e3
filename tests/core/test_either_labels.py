"""Texts that name two labels ("three or eight"): the manifest's label sets, the training
targets they give each coalition, the digits records that carry them, and the held-out probes
that measure a model's honesty about them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from mmstudio.inputs.errors import InputError
from mmstudio.training.manifest import read_manifest, write_manifest
from tests.conftest import require_module, require_or_skip


def _write(folder, rows, labels=("1", "2", "3", "8")):
    (folder / "manifest.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    (folder / "labels.txt").write_text("".join(f"{x}\n" for x in labels), encoding="utf-8")


def test_label_sets_read_from_lists_and_bar_separated_strings_and_round_trip(tmp_path):
    _write(tmp_path, [
        {"id": "a", "label": "3", "text": "three or eight", "text_labels": ["3", 8]},
        {"id": "b", "label": "8", "text": "drei oder acht", "text_labels": "3|8"},
        {"id": "c", "label": "1", "text": "one"},
    ])  # fmt: skip
    manifest = read_manifest(tmp_path)
    sets = {r.id: r.modality_labels for r in manifest.records}
    assert sets == {"a": {"text": ("3", "8")}, "b": {"text": ("3", "8")}, "c": {}}
    assert "text_labels" not in manifest.records[0].meta

    out = tmp_path / "again"
    write_manifest(out, manifest.records, manifest.labels)
    assert [r.modality_labels for r in read_manifest(out).records] == list(sets.values())


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"label": "1", "text": "two or three", "text_labels": ["2", "3"]},
         "text_labels ['2', '3'] must include the record's label '1'"),
        ({"label": "3", "text": "three", "text_labels": ["3", "9"]},
         "text_labels: unknown label '9' not in labels.txt"),
        ({"label": "3", "audio": "", "text": "x", "audio_labels": ["3", "8"]},
         "audio_labels is given but the record has no audio"),
        ({"label": "3", "text": "x", "text_labels": {"3": 1}}, "text_labels must be a list"),
        ({"label": "3", "text": "x", "text_labels": ["3", ""]}, "text_labels holds an empty label"),
    ],
)  # fmt: skip
def test_bad_label_sets_name_the_line(tmp_path, row, message):
    _write(tmp_path, [{"label": "1", "text": "one"}, row])
    with pytest.raises(InputError) as caught:
        read_manifest(tmp_path)
    assert f"line 2: {message}" in str(caught.value)


def test_each_coalition_is_taught_the_labels_all_its_modalities_allow():
    from mmstudio.models.fusionnet import training_coalitions
    from mmstudio.training.trainer import coalition_targets

    def columns(keep):  # every modality present, the dropout coalition keeping ``keep``
        keep = torch.tensor([keep])
        return training_coalitions(torch.ones_like(keep), keep)

    # One record of label 0 among classes 0..3, modalities (image, text, audio): the text
    # says "0 or 2", the image shows a 0, the audio is unambiguous too.
    allowed = torch.zeros(1, 3, 4, dtype=torch.bool)
    allowed[0, :, 0] = True
    allowed[0, 1, 2] = True
    labels = torch.tensor([0])
    text_only = coalition_targets(allowed, columns([False, True, False]), labels)
    # Columns: the dropout coalition, then image, text and audio alone.
    expected = torch.tensor([[[0.5, 0, 0.5, 0], [1, 0, 0, 0], [0.5, 0, 0.5, 0], [1, 0, 0, 0]]])
    assert torch.equal(text_only, expected)
    with_image = coalition_targets(allowed, columns([True, True, False]), labels)
    assert torch.equal(with_image[0, 0], torch.tensor([1.0, 0, 0, 0]))

    # Two modalities that contradict each other leave nothing: the record's label is taught.
    clash = torch.zeros(1, 3, 4, dtype=torch.bool)
    clash[0, 0, 1] = clash[0, 1, 3] = clash[0, :, 0] = True
    clash[0, 0, 0] = clash[0, 1, 0] = False
    target = coalition_targets(clash, columns([True, True, False]), labels)
    assert torch.equal(target[0, 0], torch.tensor([1.0, 0, 0, 0]))


def _text_alone_belief(folder, rows, phrases) -> torch.Tensor:
    """Train concat fusion on ``rows`` and return the text-alone probabilities of ``phrases``,
    before temperature scaling (the validation texts here are too easy to calibrate on)."""
    from mmstudio.inputs import Sample
    from mmstudio.models.checkpoint import load_checkpoint
    from mmstudio.training.trainer import train

    folder.mkdir()
    _write(folder, rows, labels=("0", "1", "2"))
    events = train(
        folder, fusion="concat", out_dir=folder / "run", epochs=20, batch_size=32, lr=3e-3,
        device="cpu", patience=20,
    )  # fmt: skip
    for _ in events:
        pass
    model = load_checkpoint(folder / "run").eval()
    with torch.no_grad():
        logits = model(model.preprocess([Sample(text=t) for t in phrases])).logits
    return (logits * model.config.temperature).softmax(-1)


def test_a_label_set_teaches_the_text_alone_to_share_its_belief(tmp_path):
    """Every "bee or cee" record shows a b (label 1), as if an image settled it. Trained on the
    label alone, the text "bee or cee" comes to mean b; with the label set [1, 2], the text
    alone gives c a real share while "bee" and "cee" alone stay themselves."""
    rows = []
    for i in range(48):
        rows.append({"id": f"b{i}", "label": "1", "text": "bee", "split": "train"})
        rows.append({"id": f"c{i}", "label": "2", "text": "cee", "split": "train"})
        rows.append({"id": f"e{i}", "label": "1", "text": "bee or cee", "split": "train"})
    rows += [{"id": f"v{i}", "label": "12"[i % 2], "text": ("bee", "cee")[i % 2], "split": "val"}
             for i in range(8)]  # fmt: skip
    phrases = ["bee or cee", "bee", "cee"]
    plain = _text_alone_belief(tmp_path / "plain", rows, phrases)
    for row in rows:
        if row["id"].startswith("e"):
            row["text_labels"] = ["1", "2"]
    shared = _text_alone_belief(tmp_path / "shared", rows, phrases)
    assert plain[0, 2] < 0.15, plain
    assert shared[0, 2] > max(0.2, 2 * plain[0, 2]), (plain, shared)
    assert shared[1].argmax() == 1 and shared[2].argmax() == 2, shared


# ------------------------------------------------------------------------- the digits dataset


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    require_or_skip(shutil.which("espeak-ng") is not None, "espeak-ng is not installed")
    require_module("sklearn")
    from mmstudio.training.digits import build_digits_dataset

    return build_digits_dataset(tmp_path_factory.mktemp("digits") / "d", seed=0, size="small")


def test_some_training_phrases_name_two_digits_and_no_held_out_phrase_does(digits):
    from mmstudio.training.digits.text import NUMBER_WORDS

    either = [r for r in digits.split("train") if r.modality_labels]
    assert 0.2 < len(either) / len(digits.split("train")) < 0.4
    for record in either:
        pair = record.modality_labels["text"]
        assert len(set(pair)) == 2 and record.label in pair
        spans = record.meta["text_number_spans"]
        named = [record.text[start:end] for start, end in spans]
        lang = record.meta["text_lang"]
        for digit, written in zip(pair, named, strict=True):
            if record.meta["text_form"] == "numeral":
                assert written == digit
            else:  # a long word may carry a typo; its first letter survives most of them
                assert any(w[:1] == written[:1] for w in NUMBER_WORDS[lang][int(digit)])
    assert not any(r.modality_labels for s in ("val", "test") for r in digits.split(s))


def test_probes_use_only_held_out_two_digit_frames():
    from mmstudio.inputs import normalize_text
    from mmstudio.training.ambiguity import either_probes
    from mmstudio.training.digits.text import EITHER_TEMPLATES, LANGUAGES, NUMBER_WORDS

    probes = either_probes("test", count=300)
    assert probes == either_probes("test", count=300)  # the same probes every time
    pairs = {p.digits for p in probes}
    assert len(pairs) > 60 and all(a != b for a, b in pairs)
    test_frames = [t for lang in LANGUAGES for t in EITHER_TEMPLATES[lang]["test"]]
    train_frames = [t for lang in LANGUAGES for t in EITHER_TEMPLATES[lang]["train"]]
    for probe in probes:

        def fits(frame, probe=probe):
            a, b = probe.digits
            return any(
                normalize_text(frame.format(a=x, b=y))[0] == probe.text
                for lang in LANGUAGES
                for x in (str(a), *NUMBER_WORDS[lang][a])
                for y in (str(b), *NUMBER_WORDS[lang][b])
            )

        assert any(fits(f) for f in test_frames), probe
        assert not any(fits(f) for f in train_frames), probe


def test_two_digit_frames_name_no_third_number():
    """A frame's own words are never a number word ("c'est un {a} ou un {b}" would name a
    third, French "un"); in scripts without spaces, no number appears inside the frame at all.
    Number words inside longer words ("peut-être" holds Italian "tre") are left, as in the
    one-digit frames: the model is to find the number in its slot, not in every substring."""
    import re

    from mmstudio.training.digits.pseudowords import all_number_words
    from mmstudio.training.digits.text import EITHER_TEMPLATES, NUMBER_WORDS

    numbers = all_number_words(NUMBER_WORDS)
    for lang, splits in EITHER_TEMPLATES.items():
        for frames in splits.values():
            for frame in frames:
                bare = frame.replace("{a}", " ").replace("{b}", " ").lower()
                if lang in ("zh", "ja"):
                    assert not any(n in bare for n in numbers if not n.isascii()), frame
                else:  # the language's own number words (Spanish "un" is only an article)
                    own = {w.lower() for spellings in NUMBER_WORDS[lang] for w in spellings}
                    words = set(re.split(r"[\s,.:;!?'’-]+", bare))
                    assert not words & (own | {str(d) for d in range(10)}), (lang, frame)


def test_training_handwriting_is_bent_and_held_out_handwriting_is_not():
    from mmstudio.training.digits import images

    hand, _ = images.handwriting()
    plain = np.asarray(images.render_handwritten(hand[5], np.random.default_rng(3)))
    again = np.asarray(images.render_handwritten(hand[5], np.random.default_rng(3), warp=0.0))
    bent = np.asarray(images.render_handwritten(hand[5], np.random.default_rng(3), warp=0.6))
    assert np.array_equal(plain, again)
    assert not np.array_equal(plain, bent)


def test_measure_either_reads_the_probabilities_the_studio_shows():
    """The honesty measure and the app's analysis agree on a shipped model's belief."""
    from mmstudio.analysis import Analyzer
    from mmstudio.inputs import Sample
    from mmstudio.models.checkpoint import load_checkpoint
    from mmstudio.training.ambiguity import Probe, measure_either

    model = load_checkpoint("resources/models/digits")
    probe = Probe("es ist eine drei oder acht", (3, 8))
    report = measure_either(model, [probe])
    result = Analyzer(model, "cpu", explain=False).analyze(Sample(text=probe.text))
    shares = [float(result.probabilities[model.labels.index(d)]) for d in ("3", "8")]
    assert report["median_pair_mass"] == pytest.approx(sum(shares), abs=1e-5)
    assert report["median_max_share"] == pytest.approx(max(shares), abs=1e-5)
    assert report["probes"] == 1 and report["worst"][0]["text"] == probe.text


def test_the_card_holds_the_model_to_the_honesty_and_per_modality_targets():
    from mmstudio.training.model_card import HONEST_TARGET, targets

    accuracy = {"image": 0.969, "text": 0.99, "audio": 0.91, "image+text+audio": 0.995}
    metrics = {
        "levels": [0, 3],
        "accuracy": {"0": accuracy, "3": {**accuracy, "image+text+audio": 0.9}},
        "ece_clean": 0.01,
        "either": {"honest": 0.93},
    }
    found = {t.name: t.met for t in targets(metrics)}
    assert found["image alone, clean"] is False  # 97 % asked, 96.9 % measured
    assert found["audio alone, clean"] is True  # 90 % asked of voices never heard
    assert found[HONEST_TARGET] is True
    metrics["either"]["honest"] = 0.85
    assert {t.name: t.met for t in targets(metrics)}[HONEST_TARGET] is False
    del metrics["either"]
    assert HONEST_TARGET not in {t.name for t in targets(metrics)}
