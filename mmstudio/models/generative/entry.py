"""The generative backend's folder format (pyproject.toml, mmstudio.model_formats): Hugging Face
vision-, audio- and text-language model folders, or repository ids in the local cache.
Light on purpose: the registry imports it to ask ``claims``; loading imports the rest."""

from __future__ import annotations

from typing import Any

from mmstudio.models.generative.folder import claims
from mmstudio.models.registry import FolderFormat


def _load(spec: Any, device: Any) -> Any:
    # torch and transformers come with the loader, only when a model is opened.
    from mmstudio.models.generative.loading import load_folder
    from mmstudio.models.generative.model import GenerativeModel

    return GenerativeModel.from_loaded(load_folder(spec, device))


GENERATIVE_FOLDERS = FolderFormat(name="hf-generative", claims=claims, load=_load)
