"""Opening a Hugging Face generative model folder in the window, for the tests and the answer
view's screenshot."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def hf_folder_format() -> Iterator[None]:
    """A model format that opens a Hugging Face generative model folder, first in line."""
    # replaced by the hf-generative format when it lands
    from transformers import AutoModelForMultimodalLM, AutoProcessor

    from mmstudio.models.generative.model import GenerativeModel
    from mmstudio.models.registry import _FORMATS, FolderFormat, _ensure_formats

    def claims(spec: str) -> bool:
        folder = Path(spec)
        return (folder / "config.json").exists() and (
            (folder / "processor_config.json").exists()
            or (folder / "preprocessor_config.json").exists()
        )

    def load(spec, _device):
        return GenerativeModel(
            AutoModelForMultimodalLM.from_pretrained(spec, local_files_only=True),
            AutoProcessor.from_pretrained(spec, local_files_only=True),
            name=Path(spec).name,
        )

    _ensure_formats()
    folder_format = FolderFormat("tiny-hf", claims=claims, load=load)
    _FORMATS.insert(0, folder_format)
    try:
        yield
    finally:
        _FORMATS.remove(folder_format)
