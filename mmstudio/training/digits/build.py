"""Build the digits dataset: image + speech + text triples of the same digit, like AV-MNIST.

Every record pairs a freshly rendered image, a clip from the split's pool of spoken digits (the
pools are small because espeak-ng calls dominate the build time; clips are reused across
records) and a freshly generated phrase. Images, voices, fonts, handwriting and phrase templates
are disjoint between splits; ``build_info.json`` records exactly which went where.

Usage: ``python -m mmstudio.training.digits OUT [--seed N] [--size small|full] [--samples DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmstudio.training.manifest import Manifest, Record, read_manifest, write_manifest

from . import images, speech, text

LABELS: tuple[str, ...] = tuple(str(d) for d in range(10))
SPLITS: tuple[str, ...] = ("train", "val", "test")
BUILDER = "mmstudio.training.digits"
FORMAT_VERSION = 1

Progress = Callable[[str, int, int], None]

# Separate random streams, so changing how one modality is made leaves the others unchanged.
_SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
_IMAGE, _AUDIO, _TEXT, _PAIRING, _EITHER = 1, 2, 3, 4, 5
_HANDWRITTEN_SHARE = 0.5
# Training records whose phrase names a second digit as well ("three or eight"), so the text
# alone learns to share its belief; the image and the speech still show the record's digit.
# Held-out splits keep one digit per phrase: their scores stay comparable, and honesty is
# measured on held-out two-digit frames instead (mmstudio.training.ambiguity).
EITHER_SHARE = {"train": 0.3, "val": 0.0, "test": 0.0}
# Elastic bending of the training handwriting, in the 8x8 samples' pixels (images.py); the
# held-out writers are shown as they wrote.
HANDWRITING_WARP = {"train": 0.6, "val": 0.0, "test": 0.0}


@dataclass(frozen=True)
class SizeSpec:
    records: dict[str, int]
    audio_per_class: dict[str, int]


SIZES: dict[str, SizeSpec] = {
    "full": SizeSpec(
        records={"train": 8000, "val": 1000, "test": 2000},
        audio_per_class={"train": 700, "val": 40, "test": 80},
    ),
    "small": SizeSpec(
        records={"train": 200, "val": 50, "test": 50},
        audio_per_class={"train": 6, "val": 3, "test": 3},
    ),
}


def build_digits_dataset(
    out_dir: str | Path,
    *,
    seed: int = 0,
    size: str = "full",
    progress: Progress | None = None,
    workers: int = 2,
    splits: Sequence[str] = SPLITS,
) -> Manifest:
    """Build the dataset into ``out_dir`` (replacing an earlier build there) and read it back.

    ``splits`` builds only some splits; each split's records depend only on the seed and the
    split, so a test-only build holds exactly the test records of a full build.

    The build happens in a sibling staging folder that is renamed into place at the end, so an
    interrupted build never leaves a half-written dataset behind a valid-looking manifest.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown or not splits:
        raise ValueError(f"splits must be some of {', '.join(SPLITS)}, got {list(splits)!r}")
    # Absolute, because records hold absolute paths that write_manifest makes relative again.
    out_dir = Path(out_dir).absolute()
    _refuse_foreign_folder(out_dir)
    report = progress or (lambda stage, done, total: None)
    started = time.perf_counter()

    staging = out_dir.parent / f".{out_dir.name}.building-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        info = _build_into(staging, seed, SIZES[size], report, workers, splits)
        info.update(size=size, build_seconds=round(time.perf_counter() - started, 1))
        (staging / "build_info.json").write_text(
            json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return read_manifest(out_dir)


def _refuse_foreign_folder(out_dir: Path) -> None:
    """Only an empty folder or an earlier build of this dataset may be replaced."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a folder")
    if not any(out_dir.iterdir()):
        return
    try:
        info = json.loads((out_dir / "build_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
    if info.get("builder") != BUILDER:
        raise FileExistsError(
            f"{out_dir} is not empty and is not an earlier digits build; choose another folder"
        )


def _build_into(
    root: Path, seed: int, spec: SizeSpec, report: Progress, workers: int, splits: Sequence[str]
) -> dict:
    fonts = images.fonts_by_split()
    voices = speech.voices_by_split()
    records: list[Record] = []
    counts: dict[str, dict[str, int]] = {}
    for split in (s for s in SPLITS if s in splits):
        clips = _build_audio_pool(root, split, seed, spec, voices[split], report, workers)
        split_records = _build_records(root, split, seed, spec, fonts[split], clips, report)
        records.extend(split_records)
        counts[split] = _count(split_records, clips)
    report("manifest", 0, 1)
    write_manifest(root, records, LABELS)
    report("manifest", 1, 1)
    return _build_info(seed, counts, fonts, voices)


@dataclass(frozen=True)
class _Clip:
    path: Path
    utterance: speech.Utterance


def _build_audio_pool(
    root: Path,
    split: str,
    seed: int,
    spec: SizeSpec,
    split_voices: dict[str, list[str]],
    report: Progress,
    workers: int,
) -> dict[int, list[_Clip]]:
    per_class = spec.audio_per_class[split]
    code = _SPLIT_CODE[split]
    prosody = speech.TRAIN_PROSODY if split == "train" else speech.HELD_OUT_PROSODY
    plans = [
        speech.plan_utterance(digit, split_voices, (seed, code, _AUDIO, digit, k), prosody)
        for digit in range(10)
        for k in range(per_class)
    ]
    folder = root / "audio" / split
    folder.mkdir(parents=True)
    # Shuffled file numbers, so a listing of the folder is not sorted by digit.
    numbers = np.random.default_rng([seed, code, _AUDIO]).permutation(len(plans))
    stage = f"speech {split}"
    report(stage, 0, len(plans))
    clips = speech.synthesize_many(
        plans, workers=workers, progress=lambda done, total: report(stage, done, total)
    )
    pool: dict[int, list[_Clip]] = {d: [] for d in range(10)}
    for plan, clip, number in zip(plans, clips, numbers, strict=True):
        path = folder / f"{split}-a{number:05d}.wav"
        speech.write_wav(path, clip)
        pool[plan.digit].append(_Clip(path, plan))
    return pool


def _build_records(
    root: Path,
    split: str,
    seed: int,
    spec: SizeSpec,
    fonts: list[images.FontFile],
    clips: dict[int, list[_Clip]],
    report: Progress,
) -> list[Record]:
    n = spec.records[split]
    code = _SPLIT_CODE[split]
    pairing = np.random.default_rng([seed, code, _PAIRING])
    # Balanced labels in a shuffled order: every split holds every digit about equally often.
    digits = pairing.permutation(np.arange(n) % 10)
    audio_order = {d: _cycle(pairing, len(clips[d])) for d in range(10)}
    hand_images, hand_labels = images.handwriting()
    hand_pool = images.handwriting_indices(split)
    hand_by_digit = {d: hand_pool[hand_labels[hand_pool] == d] for d in range(10)}
    hand_order = {d: _cycle(pairing, len(hand_by_digit[d])) for d in range(10)}

    folder = root / "images" / split
    folder.mkdir(parents=True)
    stage = f"images+text {split}"
    records = []
    for i, digit in enumerate(int(d) for d in digits):
        record_id = f"{split}-{i:05d}"
        image_rng = np.random.default_rng([seed, code, _IMAGE, i])
        meta: dict[str, object] = {}
        if image_rng.random() < _HANDWRITTEN_SHARE and len(hand_by_digit[digit]):
            index = int(hand_by_digit[digit][next(hand_order[digit])])
            image = images.render_handwritten(
                hand_images[index], image_rng, warp=HANDWRITING_WARP[split]
            )
            meta.update(image_source="handwritten", sklearn_index=index)
        else:
            font = images.pick_font(fonts, image_rng)
            image = images.render_printed(digit, font, image_rng)
            meta.update(image_source="printed", font=font.name, font_group=font.group)
        image_path = folder / f"{record_id}.png"
        image.save(image_path)

        clip = clips[digit][next(audio_order[digit])]
        meta.update(
            voice=clip.utterance.voice_spec, speed=clip.utterance.speed, pitch=clip.utterance.pitch
        )
        phrase, text_meta, named = _phrase(digit, split, seed, code, i)
        meta.update(text_meta)
        records.append(
            Record(
                id=record_id,
                label=LABELS[digit],
                image=image_path,
                audio=clip.path,
                text=phrase,
                split=split,
                meta=meta,
                modality_labels={"text": named} if len(named) > 1 else {},
            )
        )
        if (i + 1) % 200 == 0 or i + 1 == n:
            report(stage, i + 1, n)
    return records


def _phrase(digit: int, split: str, seed: int, code: int, i: int):
    """The record's phrase, its metadata and the labels it names (the digit, or two)."""
    text_rng = np.random.default_rng([seed, code, _TEXT, i])
    either = np.random.default_rng([seed, code, _EITHER, i])
    if either.random() >= EITHER_SHARE[split]:
        return (*text.make_text(digit, split, text_rng), (LABELS[digit],))
    other = (digit + 1 + int(either.integers(9))) % 10
    pair = (digit, other) if either.random() < 0.5 else (other, digit)
    phrase, meta = text.make_either_text(pair, split, text_rng)
    return phrase, meta, tuple(LABELS[d] for d in pair)


def _cycle(rng: np.random.Generator, n: int):
    """Endless reshuffled passes over range(n): every item is used before any is reused."""

    def generate():
        while True:
            yield from (int(k) for k in rng.permutation(n))

    return generate()


def _count(records: list[Record], clips: dict[int, list[_Clip]]) -> dict[str, int]:
    handwritten = sum(r.meta.get("image_source") == "handwritten" for r in records)
    return {
        "records": len(records),
        "audio_clips": sum(len(c) for c in clips.values()),
        "images_handwritten": handwritten,
        "images_printed": len(records) - handwritten,
    }


def _build_info(seed: int, counts: dict, fonts: dict, voices: dict) -> dict:
    import PIL

    handwriting = {}
    for split in SPLITS:
        indices = images.handwriting_indices(split)
        handwriting[split] = {"sklearn_index_range": [int(indices[0]), int(indices[-1]) + 1]}
    return {
        "builder": BUILDER,
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "labels": list(LABELS),
        "counts": counts,
        "fonts": {
            split: {
                "groups": sorted({f.group for f in members}),
                "files": [f.path.name for f in members],
            }
            for split, members in fonts.items()
        },
        "voices": voices,
        "handwriting": handwriting,
        "text_templates": {
            split: {lang: text.TEMPLATES[lang][split] for lang in text.LANGUAGES}
            for split in SPLITS
        },
        "either_templates": {
            split: {lang: text.EITHER_TEMPLATES[lang][split] for lang in text.LANGUAGES}
            for split in SPLITS
        },
        "either_share": EITHER_SHARE,
        "handwriting_warp": HANDWRITING_WARP,
        "prosody": {"train": speech.TRAIN_PROSODY, "held_out": speech.HELD_OUT_PROSODY},
        "versions": {
            "espeak_ng": speech.espeak_version(),
            "pillow": PIL.__version__,
            "numpy": np.__version__,
        },
    }


# ------------------------------------------------------------------------------------------- CLI


def _printing_progress() -> Progress:
    last: dict[str, float] = {}

    def report(stage: str, done: int, total: int) -> None:
        # One line per stage start and end, and at most one a second in between.
        now = time.perf_counter()
        if done in (0, total) or now - last.get(stage, 0.0) >= 1.0:
            last[stage] = now
            print(f"{stage}: {done}/{total}", flush=True)

    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mmstudio.training.digits",
        description="Build the image + speech + text digits dataset.",
    )
    parser.add_argument("out", type=Path, help="folder to write the dataset into")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--workers", type=int, default=2, help="parallel espeak-ng processes")
    parser.add_argument(
        "--splits",
        nargs="+",
        choices=SPLITS,
        default=list(SPLITS),
        help="build only these splits (the same records as in a build of all of them)",
    )
    parser.add_argument("--samples", type=Path, help="also write the shipped sample inputs here")
    args = parser.parse_args(argv)

    from mmstudio.inputs.errors import InputError

    try:
        started = time.perf_counter()
        manifest = build_digits_dataset(
            args.out,
            seed=args.seed,
            size=args.size,
            progress=_printing_progress(),
            workers=args.workers,
            splits=args.splits,
        )
        elapsed = time.perf_counter() - started
        sizes = ", ".join(f"{s} {len(manifest.split(s))}" for s in args.splits)
        print(f"wrote {len(manifest.records)} records ({sizes}) to {args.out} in {elapsed:.1f} s")
        if args.samples:
            from .samples import write_samples

            written = write_samples(args.samples, seed=args.seed)
            print(f"wrote {len(written)} sample files to {args.samples}")
    except (speech.SpeechUnavailable, FileExistsError, InputError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
