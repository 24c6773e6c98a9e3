"""Qt-free loading and validation of images, text and audio into a :class:`Sample`.

Every problem with what a user gave us is raised as :class:`InputError`, whose message names the
source and explains the problem in plain words, ready to show in the window or on stderr. Any
exception a decoder raises becomes one too, of a ``failures.Kind`` (unsupported variant, damaged,
too large, not recognised: see failures.py and guard.py); what the C decoders print on stderr
meanwhile is logged at DEBUG (chatter.py), not shown.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from .audio import audio_from_array, load_audio, save_wav
from .errors import InputError
from .image import MAX_IMAGE_PIXELS, image_notes, load_image, to_rgb
from .sample import AudioClip, Sample
from .text import load_text_file, normalize_text

__all__ = [
    "MAX_IMAGE_PIXELS",
    "AudioClip",
    "InputError",
    "Sample",
    "audio_from_array",
    "image_notes",
    "input_notes",
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
    text_notes: list[str] = []
    clean_text = None
    if text is not None:
        raw = load_text_file(text) if isinstance(text, Path) else text
        clean_text, text_notes = normalize_text(raw)
    loaded_image, clip = _as_image(image), _as_audio(audio)
    return Sample(
        image=loaded_image,
        text=clean_text,
        audio=clip,
        notes=input_notes(loaded_image, text_notes, clip),
    )


def input_notes(
    image: Image.Image | None, text_notes: list[str], audio: AudioClip | None
) -> tuple[str, ...]:
    """Everything the loaders noted about the inputs, in the order image, text, audio."""
    return (*image_notes(image), *text_notes, *(audio.notes if audio is not None else ()))


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
