"""The named examples shipped in resources/samples/examples.json, for the Examples menu.

An example may name the model it is about (``"model": "digits-chat"``, the generative examples):
choosing it switches the window to that model. One without a model is analysed by whichever
model is loaded (the classifier's examples, written for the default model)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmstudio.resources import samples_dir


@dataclass(frozen=True)
class Example:
    name: str
    image: Path | None
    audio: Path | None
    text: str | None
    expected: str | None
    note: str
    # The registered model the example is about; None: whichever model is loaded.
    model: str | None = None


@dataclass
class DecodedExample:
    """An example's files decoded: what could not be read is None, with its message."""

    example: Example
    image: Any = None  # PIL image
    audio: Any = None  # AudioClip
    problems: list[str] = field(default_factory=list)


def decode_example(example: Example) -> DecodedExample:
    """Open the example's image and audio; safe on any thread (the window decodes a dataset
    row's files, which may be large, in its file-loading pool)."""
    from mmstudio.inputs import InputError, load_audio, load_image

    decoded = DecodedExample(example)
    for modality, path, load in (
        ("image", example.image, load_image),
        ("audio", example.audio, load_audio),
    ):
        if path is None:
            continue
        try:
            setattr(decoded, modality, load(path))
        except InputError as error:
            decoded.problems.append(str(error))
    return decoded


def load_examples(folder: Path | None = None) -> tuple[list[Example], str]:
    """The examples, and a reason when there are none (shown in the menu instead)."""
    try:
        folder = folder or samples_dir()
    except FileNotFoundError as error:
        return [], str(error)
    index = folder / "examples.json"
    if not index.is_file():
        return [], f"no examples: {index} is missing"
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return [], f"examples.json cannot be read: {error}"
    examples = [
        _example(entry, folder)
        for entry in entries
        if isinstance(entry, dict) and entry.get("name")
    ]
    return examples, "" if examples else "examples.json lists no examples"


def _example(entry: dict, folder: Path) -> Example:
    def file(key: str) -> Path | None:
        name = entry.get(key)
        return folder / name if name else None

    expected = entry.get("expected")
    return Example(
        name=str(entry["name"]),
        image=file("image"),
        audio=file("audio"),
        text=entry.get("text") or None,
        expected=str(expected) if expected is not None else None,
        note=str(entry.get("note") or ""),
        model=str(entry["model"]) if entry.get("model") else None,
    )


def find_example(name: str, examples: list[Example]) -> Example | None:
    folded = name.casefold()
    return next((e for e in examples if e.name.casefold() == folded), None)
