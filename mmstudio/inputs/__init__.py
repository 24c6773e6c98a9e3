"""Qt-free loading and validation of images, text and audio into a :class:`Sample`.

Every problem with what a user gave us is raised as :class:`InputError`, whose message names the
source and explains the problem in plain words, ready to show in the window or on stderr.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from .audio import audio_from_array, load_audio, save_wav
from .errors import InputError
from .image import MAX_IMAGE_PIXELS, load_image, to_rgb
from .sample import AudioClip, Sample
from .text import load_text_file, normalize_text

__all__ = [
    "MAX_IMAGE_PIXELS",
    "AudioClip",
    "InputError",
    "Sample",
    "audio_from_array",
    "load_audio",
    "load_image",
    "load_text_file",
    "make_sample",
    "normalize_text",
    "save_wav",
]


def make_sample(
    image: Image.Image | str | Path | bytes | None = None,
    text: str | Path | None = None,
    audio: AudioClip | str | Path | bytes | None = None,
) -> Sample:
    """Build a Sample from whatever the caller has: paths, bytes, PIL images, clips or text.

    A ``str`` image or audio is a path; a ``str`` text is the text itself and a ``Path`` text is
    a file to read. Notes about how the text was cleaned end up in ``Sample.notes``.
    """
    notes: list[str] = []
    clean_text = None
    if text is not None:
        raw = load_text_file(text) if isinstance(text, Path) else text
        clean_text, notes = normalize_text(raw)
    return Sample(
        image=_as_image(image),
        text=clean_text,
        audio=_as_audio(audio),
        notes=tuple(notes),
    )


def _as_image(image: Image.Image | str | Path | bytes | None) -> Image.Image | None:
    if image is None:
        return None
    if isinstance(image, Image.Image):
        return to_rgb(image)
    return load_image(image)


def _as_audio(audio: AudioClip | str | Path | bytes | None) -> AudioClip | None:
    if audio is None or isinstance(audio, AudioClip):
        return audio
    return load_audio(audio)
