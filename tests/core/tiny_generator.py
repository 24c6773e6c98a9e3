"""A tiny generative model folder that opens by path, for the command line and dataset tests.

The folder is tests.generative's tiny LLaVA (image + text, random words as answers). Until the
hf-generative folder format lands, :func:`folder_format` registers a temporary one that opens
such a folder through transformers' Auto classes, offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.generative.tiny_models import FAMILIES


def claims(spec: str) -> bool:
    folder = Path(spec)
    return (folder / "config.json").is_file() and (
        (folder / "processor_config.json").is_file()
        or (folder / "preprocessor_config.json").is_file()
    )


def load(spec, device):
    from transformers import AutoModelForMultimodalLM, AutoProcessor

    from mmstudio.models.generative.model import GenerativeModel

    hf_model = AutoModelForMultimodalLM.from_pretrained(spec, local_files_only=True)
    processor = AutoProcessor.from_pretrained(spec, local_files_only=True)
    return GenerativeModel(hf_model, processor, name=Path(spec).name).to(device)


@contextmanager
def folder_format() -> Iterator[None]:
    # replaced by the hf-generative format when it lands
    from mmstudio.models.registry import _FORMATS, FolderFormat, _ensure_formats

    _ensure_formats()
    entry = FolderFormat("tiny-hf", claims=claims, load=load)
    _FORMATS.insert(0, entry)
    try:
        yield
    finally:
        _FORMATS.remove(entry)


@contextmanager
def hub_offline() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        yield


def build_llava(root: Path) -> Path:
    """The tiny LLaVA folder under ``root`` (built offline)."""
    with hub_offline():
        return FAMILIES["llava"](root / "llava")
