"""A tiny stand-in for the digits dataset, made here in a second without espeak-ng: one image
(the digit drawn in white on black), one clip (a tone whose pitch encodes the digit) and one
phrase per digit and split, written as a real manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw

from mmstudio.training.chat.architecture import OmniSize
from mmstudio.training.digits import text as digit_text
from mmstudio.training.manifest import Record, read_manifest, write_manifest

# Small enough that a training step takes a fraction of a second; the digits-chat tokenizer
# and processor layout otherwise as shipped (2 s audio chunk, 84x84 images).
TEST_SIZE = OmniSize(
    mel_bins=32, audio_seconds=2, image_min_pixels=84 * 84, image_max_pixels=84 * 84
)


def write_fake_digits(folder: Path, splits=("train", "test")) -> list[Record]:
    records = []
    for split in splits:
        (folder / split).mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(len(split))
        for digit in range(10):
            image = Image.new("RGB", (64, 64))
            ImageDraw.Draw(image).text((28, 24), str(digit), fill=(255, 255, 255))
            image_path = folder / split / f"{digit}.png"
            image.save(image_path)
            t = np.arange(int(0.8 * 16000)) / 16000
            clip = 0.3 * np.sin(2 * np.pi * (200 + 60 * digit) * t)
            audio_path = folder / split / f"{digit}.wav"
            sf.write(audio_path, clip.astype(np.float32), 16000)
            phrase, _ = digit_text.make_text(digit, split, rng)
            records.append(
                Record(
                    id=f"{split}-{digit}",
                    label=str(digit),
                    image=image_path,
                    audio=audio_path,
                    text=phrase,
                    split=split,
                )
            )
    write_manifest(folder, records, [str(d) for d in range(10)])
    return read_manifest(folder).records
