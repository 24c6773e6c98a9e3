"""The dataset format, the digits builder and the corruption levels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmstudio.inputs.errors import InputError
from mmstudio.training.corruption import (
    CORRUPTION_LEVELS,
    corrupt_audio,
    corrupt_image,
    corrupt_text,
)
from mmstudio.training.manifest import Record, read_manifest, write_manifest
from tests.conftest import needs, require_module, require_or_skip

sf = require_module("soundfile")

needs_espeak = needs(shutil.which("espeak-ng") is not None, "espeak-ng is not installed")


# ------------------------------------------------------------------------------------ builder


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    require_or_skip(shutil.which("espeak-ng") is not None, "espeak-ng is not installed")
    require_module("sklearn")
    from mmstudio.training.digits import build_digits_dataset

    out = tmp_path_factory.mktemp("digits") / "small"
    stages: list[str] = []
    manifest = build_digits_dataset(
        out, seed=0, size="small", progress=lambda stage, done, total: stages.append(stage)
    )
    return out, manifest, stages


@needs_espeak
def test_small_build_reads_back_with_every_label_in_every_split(small_dataset):
    out, manifest, stages = small_dataset
    again = read_manifest(out)
    assert again.labels == [str(d) for d in range(10)]
    assert len(again.records) == len(manifest.records) == 300
    for split, expected in (("train", 200), ("val", 50), ("test", 50)):
        records = again.split(split)
        assert len(records) == expected
        assert {r.label for r in records} == set(again.labels)
    assert any(s.startswith("speech") for s in stages)


@needs_espeak
def test_small_build_files_decode(small_dataset):
    _, manifest, _ = small_dataset
    for record in manifest.records[::7]:
        assert record.image is not None and record.audio is not None and record.text
        with Image.open(record.image) as image:
            assert image.size == (64, 64)
        samples, rate = sf.read(record.audio)
        info = sf.info(record.audio)
        assert rate == 16_000 and info.channels == 1 and info.subtype == "PCM_16"
        assert 0.2 < len(samples) / rate <= 1.5
        assert np.abs(samples).max() > 0.01


@needs_espeak
def test_small_build_holds_out_fonts_voices_handwriting_and_templates(small_dataset):
    out, manifest, _ = small_dataset
    info = json.loads((out / "build_info.json").read_text(encoding="utf-8"))
    assert info["seed"] == 0 and info["counts"]["train"]["records"] == 200
    for held_out in ("val", "test"):
        for key in ("groups", "files"):
            assert not set(info["fonts"]["train"][key]) & set(info["fonts"][held_out][key])
        for key in ("voices", "variants"):
            assert not set(info["voices"]["train"][key]) & set(info["voices"][held_out][key])
        train_range = info["handwriting"]["train"]["sklearn_index_range"]
        held_range = info["handwriting"][held_out]["sklearn_index_range"]
        assert train_range[1] <= held_range[0]
        for lang, templates in info["text_templates"][held_out].items():
            assert not set(templates) & set(info["text_templates"]["train"][lang])

    # The records themselves must respect the partition, not just the summary.
    test_fonts = set(info["fonts"]["test"]["files"])
    for record in manifest.split("test"):
        if record.meta["image_source"] == "printed":
            assert any(name.startswith(record.meta["font"] + ".") for name in test_fonts)
        voice = record.meta["voice"].split("+")[0]
        assert voice in info["voices"]["test"]["voices"]


@needs_espeak
def test_same_seed_builds_the_same_manifest(small_dataset, tmp_path):
    from mmstudio.training.digits import build_digits_dataset

    out, _, _ = small_dataset
    build_digits_dataset(tmp_path / "again", seed=0, size="small")
    assert (tmp_path / "again" / "manifest.jsonl").read_bytes() == (
        out / "manifest.jsonl"
    ).read_bytes()
    for relative in ("images/test/test-00003.png", "audio/val/val-a00004.wav"):
        assert (tmp_path / "again" / relative).read_bytes() == (out / relative).read_bytes()


def test_builder_refuses_to_replace_a_foreign_folder(tmp_path):
    from mmstudio.training.digits import build_digits_dataset

    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        build_digits_dataset(tmp_path, size="small")
    assert (tmp_path / "notes.txt").exists()


@needs_espeak
def test_write_samples(tmp_path):
    require_module("sklearn")
    from mmstudio.training.digits import write_samples
    from mmstudio.training.digits.text import NUMBER_WORDS

    files = write_samples(tmp_path, seed=0)
    assert sum(f.stat().st_size for f in files) < 1_000_000
    examples = json.loads((tmp_path / "examples.json").read_text(encoding="utf-8"))
    # Some examples make the modalities disagree: what each says alone differs.
    assert any(len(set(e["claims"].get("alone", {}).values())) > 1 for e in examples)
    for example in examples:
        assert example["expected"] in [str(d) for d in range(10)]
        for key in ("image", "audio"):
            if example[key]:
                assert (tmp_path / example[key]).is_file()
    for line in (tmp_path / "texts.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        digit = int(row["expected"])
        assert any(w in row["text"] for w in [*NUMBER_WORDS[row["lang"]][digit], str(digit)])


@needs_espeak
def test_rewriting_the_samples_keeps_other_models_examples(tmp_path):
    """The classifier's examples are rewritten from the builder; examples.json's examples about
    another model (digits-chat's, written by hand) stay as they were, after them."""
    require_module("sklearn")
    from mmstudio.training.digits import write_samples
    from mmstudio.training.digits.samples import _EXAMPLES

    chat = {"name": "asked", "model": "digits-chat", "image": "digit_7.png", "claims": {}}
    stale = {"name": "an old classifier example", "image": None, "expected": "1"}
    index = tmp_path / "examples.json"
    index.write_text(json.dumps([stale, chat]), encoding="utf-8")
    write_samples(tmp_path, seed=0)
    assert json.loads(index.read_text(encoding="utf-8")) == [*_EXAMPLES, chat]


def test_text_distractors_never_contain_number_words():
    from mmstudio.training.digits.text import DISTRACTORS, NUMBER_WORDS

    numbers = {w.lower() for per in NUMBER_WORDS.values() for ws in per for w in ws}
    for words in DISTRACTORS.values():
        for word in words:
            assert not any(n in word.lower() for n in numbers), word


# ----------------------------------------------------------------------------------- manifest


def _touch_image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (8, 8)).save(path)


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_manifest_round_trip(tmp_path):
    _touch_image(tmp_path / "images" / "a.png")
    records = [
        Record(
            id="a",
            label="10",
            image=tmp_path / "images" / "a.png",
            split="train",
            meta={"source": "x"},
        ),
        Record(id="b", label="2", text="deux", split="test"),
    ]
    write_manifest(tmp_path, records, ["2", "10"])
    manifest = read_manifest(tmp_path)
    assert manifest.labels == ["2", "10"]
    first = manifest.records[0]
    assert first.image == tmp_path / "images" / "a.png" and first.meta == {"source": "x"}
    assert manifest.split("test")[0].text == "deux"
    assert manifest.has_splits


def test_manifest_without_labels_file_sorts_labels_naturally(tmp_path):
    _write_lines(
        tmp_path / "manifest.jsonl",
        [
            json.dumps({"label": "10", "text": "ten"}),
            json.dumps({"label": 2, "text": "two"}),
            json.dumps({"label": "1", "text": "one"}),
        ],
    )
    manifest = read_manifest(tmp_path)
    assert manifest.labels == ["1", "2", "10"]
    assert not manifest.has_splits and manifest.split("train") == []


def test_manifest_csv_variant(tmp_path):
    _touch_image(tmp_path / "img" / "x.png")
    (tmp_path / "manifest.csv").write_text(
        "\ufeffid,label,image,audio,text,split,writer\n"
        "r1,7,img/x.png,,,train,alice\n"
        'r2,3,,,"three, I think",VALIDATION,bob\n',
        encoding="utf-8",
    )
    manifest = read_manifest(tmp_path)
    r1, r2 = manifest.records
    assert (r1.label, r1.image, r1.audio, r1.text, r1.split) == (
        "7",
        tmp_path / "img" / "x.png",
        None,
        None,
        "train",
    )
    assert r1.meta == {"writer": "alice"}
    assert (r2.text, r2.split) == ("three, I think", "val")
    assert manifest.labels == ["3", "7"]


@pytest.mark.parametrize(
    ("lines", "labels", "message"),
    [
        (
            ['{"label": "1", "text": "one"}', '{"label": "2", "text": "two"'],
            None,
            "line 2 is not valid JSON",
        ),
        (
            ['{"label": "1", "image": "images/a.png"}'],
            None,
            "line 1: the image file images/a.png does not exist",
        ),
        (['{"text": "one"}'], None, "line 1: no label"),
        (['{"label": "1"}'], None, "line 1: a record must name at least one of image, audio, text"),
        (
            ['{"label": "1", "image": "", "audio": null, "text": "  "}'],
            None,
            "a record must name at least one of image, audio, text",
        ),
        (
            ['{"label": "x", "text": "ex"}'],
            ["1", "2"],
            "line 1: unknown label 'x' not in labels.txt",
        ),
        (['{"label": "1", "text": "a", "split": "holdout"}'], None, "unknown split 'holdout'"),
        (
            ['{"id": "a", "label": "1", "text": "a"}', '{"id": "a", "label": "1", "text": "b"}'],
            None,
            "line 2: the id 'a' is already used on line 1",
        ),
        (["[1, 2]"], None, "line 1 is not a JSON object"),
    ],
)
def test_manifest_errors_name_file_and_line(tmp_path, lines, labels, message):
    _write_lines(tmp_path / "manifest.jsonl", lines)
    if labels:
        _write_lines(tmp_path / "labels.txt", labels)
    with pytest.raises(InputError) as caught:
        read_manifest(tmp_path)
    assert str(caught.value).startswith("manifest.jsonl: ")
    assert message in str(caught.value)


def test_manifest_folder_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_manifest(tmp_path / "missing")
    with pytest.raises(InputError, match="no manifest.jsonl or manifest.csv"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="no records"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.csv").write_text("label,text\n1,one\n", encoding="utf-8")
    with pytest.raises(InputError, match="keep only one"):
        read_manifest(tmp_path)


def test_csv_errors_use_csv_line_numbers(tmp_path):
    (tmp_path / "manifest.csv").write_text(
        "label,image,text\n1,,one\n2,pics/two.png,\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="line 3: the image file pics/two.png does not exist"):
        read_manifest(tmp_path)


# --------------------------------------------------------------------------------- corruption


def _digit_image() -> Image.Image:
    from PIL import ImageDraw

    image = Image.new("L", (64, 64), 230)
    ImageDraw.Draw(image).rectangle((24, 10, 40, 54), fill=20)
    return image


def _tone() -> np.ndarray:
    t = np.arange(16_000) / 16_000
    clip = 0.5 * np.sin(2 * np.pi * 440 * t) * (np.abs(t - 0.5) < 0.3)
    return clip.astype(np.float32)


def _edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def test_level_zero_is_identity():
    rng = np.random.default_rng(0)
    image, clip = _digit_image(), _tone()
    assert np.array_equal(np.asarray(corrupt_image(image, 0, rng)), np.asarray(image))
    assert np.array_equal(corrupt_audio(clip, 16_000, 0, rng), clip)
    assert corrupt_text("I think it is a seven", 0, rng) == "I think it is a seven"


def test_corruption_grows_with_level():
    image, clip, phrase = _digit_image(), _tone(), "the number is seven " * 5
    clean = np.asarray(image, dtype=np.float32)
    image_change, audio_change, text_change = [], [], []
    for level in CORRUPTION_LEVELS:
        rng = np.random.default_rng(1)
        out = np.asarray(corrupt_image(image, level, rng), dtype=np.float32)
        image_change.append(np.abs(out - clean).mean())
        noisy = corrupt_audio(clip, 16_000, level, rng)
        audio_change.append(np.mean((noisy - clip) ** 2) / np.mean(clip**2))
        damaged = corrupt_text(phrase, level, rng)
        text_change.append(_edit_distance(damaged, phrase))
    for changes in (image_change, audio_change, text_change):
        assert changes[0] == 0
        assert all(a < b for a, b in zip(changes[:-1], changes[1:], strict=True)), changes


def test_corruption_is_deterministic_given_the_seed():
    image, clip = _digit_image().convert("RGB"), _tone()
    for level in CORRUPTION_LEVELS[1:]:
        a = corrupt_image(image, level, np.random.default_rng(5))
        b = corrupt_image(image, level, np.random.default_rng(5))
        assert a.mode == "RGB" and a.size == image.size
        assert np.array_equal(np.asarray(a), np.asarray(b))
        assert np.array_equal(
            corrupt_audio(clip, 16_000, level, np.random.default_rng(5)),
            corrupt_audio(clip, 16_000, level, np.random.default_rng(5)),
        )
        assert corrupt_text("это семь", level, np.random.default_rng(5)) == corrupt_text(
            "это семь", level, np.random.default_rng(5)
        )
    assert not np.array_equal(
        corrupt_audio(clip, 16_000, 2, np.random.default_rng(5)),
        corrupt_audio(clip, 16_000, 2, np.random.default_rng(6)),
    )


def test_corrupted_audio_stays_in_range_and_hits_its_snr():
    from mmstudio.training.corruption import active_power

    clip = _tone()
    for level, target_db in ((1, 10.0), (2, 0.0)):
        noisy = corrupt_audio(clip, 16_000, level, np.random.default_rng(3))
        assert noisy.dtype == np.float32 and np.abs(noisy).max() <= 1.0
        noise = noisy - clip
        measured = 10 * np.log10(active_power(clip, 16_000) / np.mean(noise**2))
        assert abs(measured - target_db) < 3.5  # jitter of +-2 dB plus dropouts


def test_bad_corruption_level_is_refused():
    with pytest.raises(ValueError):
        corrupt_text("seven", 4, np.random.default_rng(0))


def test_typos_never_erase_a_short_number():
    """Typos may garble "seven" but must not delete "七" or "2": a phrase without its
    number would carry a label nothing in it supports."""
    from mmstudio.training.digits.text import NUMBER_WORDS, TextStyle, make_text

    style = TextStyle(numeral_rate=0.5, typo_rate=1.0, typo_char_rate=0.5)
    rng = np.random.default_rng(0)
    for i in range(3000):
        digit = i % 10
        text, meta = make_text(digit, ("train", "val", "test")[i % 3], rng, style)
        spellings = [str(digit), *NUMBER_WORDS[meta["text_lang"]][digit]]
        short = [w for w in spellings if len(w) < 3]
        if meta["text_form"] == "numeral" or all(
            len(w) < 3 for w in NUMBER_WORDS[meta["text_lang"]][digit]
        ):
            assert any(w in text for w in short), (digit, text)


def test_made_up_training_words_name_no_number_and_avoid_held_out_frames():
    from mmstudio.training.digits.pseudowords import PseudoWords
    from mmstudio.training.digits.text import LANGUAGES, NUMBER_WORDS, TEMPLATES

    held_out = [
        t for lang in LANGUAGES for split in ("val", "test") for t in TEMPLATES[lang][split]
    ]
    words = PseudoWords(NUMBER_WORDS, held_out)
    numbers = {str(d) for d in range(10)} | {
        w.lower() for per in NUMBER_WORDS.values() for ws in per for w in ws
    }
    rng = np.random.default_rng(0)
    for lang in LANGUAGES:
        drawn = [words.draw(lang, rng) for _ in range(300)]
        assert len({w for w in drawn if w}) > 100, lang  # varied, not a handful of words
        for word in drawn:
            assert not any(n in word for n in numbers), (lang, word)
            for frame_word in ("crois", "believe", "antwort", "かな", "きっと", "吧", "кажется"):
                assert frame_word not in word, (lang, word)
    # The checks are real: a near miss of a number word that a test frame holds is refused.
    assert not words.allowed("crois") and not words.allowed("かな") and words.allowed("trozz")


def test_only_training_phrases_carry_made_up_words():
    from mmstudio.training.digits.text import (
        DISTRACTORS,
        NUMBER_WORDS,
        TEMPLATES,
        TextStyle,
        make_text,
    )

    style = TextStyle(typo_rate=0.0, distractor_rate=0.0, pseudo_word_rate=1.0)
    rng = np.random.default_rng(1)
    for split in ("val", "test"):
        for i in range(200):
            text, meta = make_text(i % 10, split, rng, style)
            lang = meta["text_lang"]
            number = next(w for w in [str(i % 10), *NUMBER_WORDS[lang][i % 10]] if w in text)
            frames = [t.format(n=number) for t in TEMPLATES[lang][split]]
            assert text in frames, text
    trained = [make_text(i % 10, "train", rng, style)[0] for i in range(200)]
    known = {w for t in TEMPLATES["en"]["train"] for w in t.split()} | set(DISTRACTORS["en"])
    assert sum(any(w not in known for w in t.split()) for t in trained) > 100
