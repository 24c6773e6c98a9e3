"""Small datasets for the dataset-analysis tests, written into a temporary folder.

Printed digits, a tone per digit and a sentence naming the digit, in every combination of
modalities, with metadata columns, plus records whose files are missing or broken. No
espeak-ng and no shipped data: everything is generated here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Which modalities record i has, cycling: every non-empty subset appears.
SUBSETS = (
    ("image", "text", "audio"),
    ("image",),
    ("text",),
    ("audio",),
    ("image", "text"),
    ("image", "audio"),
    ("text", "audio"),
)
BROKEN_IDS = ("missing-image", "corrupt-image", "unreadable-audio")


def digit_image(digit: int, size: int = 64) -> Image.Image:
    image = Image.new("RGB", (size, size), "white")
    font = ImageFont.load_default(size=int(size * 0.8))
    ImageDraw.Draw(image).text(
        (size / 2, size / 2), str(digit), fill="black", font=font, anchor="mm"
    )
    return image


def digit_tone(digit: int, rate: int = 16000, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.3 * np.sin(2 * np.pi * (200 + 60 * digit) * t)).astype(np.float32)


def write_dataset(folder: Path, count: int = 35, *, broken: bool = True) -> Path:
    """A manifest folder of ``count`` good records (and three broken ones if ``broken``)."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    (folder / "audio").mkdir(exist_ok=True)
    for digit in range(10):
        digit_image(digit).save(folder / "images" / f"{digit}.png")
        sf.write(folder / "audio" / f"{digit}.wav", digit_tone(digit), 16000)
    rows = []
    for i in range(count):
        digit = i % 10
        subset = SUBSETS[i % len(SUBSETS)]
        row = {"id": f"r{i:03d}", "label": str(digit), "voice": "low" if i % 2 else "high"}
        row["font"] = ["sans", "serif", "mono"][i % 3]
        if "image" in subset:
            row["image"] = f"images/{digit}.png"
        if "audio" in subset:
            row["audio"] = f"audio/{digit}.wav"
        if "text" in subset:
            row["text"] = f"the number {WORDS[digit]}"
        rows.append(row)
    if broken:
        (folder / "images" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
        (folder / "audio" / "noise.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
        rows += [
            {"id": "missing-image", "label": "1", "image": "images/gone.png", "voice": "low"},
            {"id": "corrupt-image", "label": "2", "image": "images/corrupt.png", "text": "two"},
            {"id": "unreadable-audio", "label": "3", "audio": "audio/noise.wav"},
        ]
    lines = "".join(json.dumps(row) + "\n" for row in rows)
    (folder / "manifest.jsonl").write_text(lines, encoding="utf-8")
    (folder / "labels.txt").write_text("".join(f"{d}\n" for d in range(10)), encoding="utf-8")
    return folder
