"""Where a swapped-in modality comes from (see :mod:`mmstudio.explain.swaps`): an example, a
dataset record or a file, named without being decoded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .audio import load_audio
from .errors import InputError
from .image import load_image
from .sample import Sample
from .text import load_text_file, normalize_text

MODALITY_NAMES = ("image", "text", "audio")


@dataclass(frozen=True)
class Donor:
    """Where a swapped-in modality comes from: an example, a dataset record or a file.

    Files are named, not decoded: :meth:`sample` reads only the modality being swapped, and is
    called in the analysis thread, so a large file never stalls the window. ``text_file`` is a
    text file read the same way; ``text`` is text given as it is.
    """

    name: str
    image: Path | None = None
    text: str | None = None
    audio: Path | None = None
    text_file: Path | None = None

    def has(self, modality: str) -> bool:
        if modality == "text":
            return self.text_file is not None or bool(self.text and self.text.strip())
        return getattr(self, modality) is not None

    def lacks_message(self, modality: str) -> str:
        return f"{self.name} has no {modality} to swap in"

    def sample(self, modality: str) -> Sample:
        """A sample holding only the donor's ``modality``, read now."""
        if modality not in MODALITY_NAMES:
            raise ValueError(f"unknown modality {modality!r}")
        if not self.has(modality):
            raise InputError(self.lacks_message(modality))
        if modality == "image":
            return Sample(image=load_image(self.image))
        if modality == "audio":
            return Sample(audio=load_audio(self.audio))
        text = load_text_file(self.text_file) if self.text_file is not None else self.text
        cleaned, _notes = normalize_text(text)
        if not cleaned.strip():
            raise InputError(self.lacks_message("text"))
        return Sample(text=cleaned)
