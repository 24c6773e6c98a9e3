"""The zero-shot backend's entry points (pyproject.toml): the 'clip-clap' model and the folders
it opens. Making CLIP_CLAP checks the local Hugging Face cache, which is why it is made on first
access (see ``__getattr__``), and why this module is separate from the rest of the package."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from mmstudio.models.registry import FolderFormat, ModelEntry
from mmstudio.models.zeroshot.sources import (
    ARCHITECTURE,
    DEFAULT_CLAP,
    DEFAULT_CLIP,
    default_weights_problem,
    hub_cache_dir,
    is_clip_clap_source,
)


def clip_clap_entry():
    """The 'clip-clap' model (pretrained CLIP + CLAP from the local cache), for the registry."""
    problem = default_weights_problem()
    return ModelEntry(
        ARCHITECTURE,
        _load_default,
        description="Zero-shot image, text and audio over labels you choose (--labels, or "
        "mmstudio.json in a model folder): pretrained CLIP "
        f"({DEFAULT_CLIP}) and CLAP ({DEFAULT_CLAP}), fused by a log-linear pool",
        location=str(hub_cache_dir()),
        source="built-in (Hugging Face weights)",
        available=not problem,
        problem=problem,
        kind="zero-shot",
        task="classification",
    )


def _load_default(device: Any) -> Any:
    # Imported when a model is opened, not when it is listed: loading brings torch and
    # transformers, and the registry imports this module while the window starts.
    from mmstudio.models.zeroshot.loading import load_clip_clap

    return load_clip_clap(ARCHITECTURE, device)


def load_folder(spec: str | Path, device: Any) -> Any:
    from mmstudio.models.zeroshot.loading import load_clip_clap  # as above: only on opening

    return load_clip_clap(spec, device)


CLIP_CLAP_FOLDERS = FolderFormat("clip-clap", claims=is_clip_clap_source, load=load_folder)


@functools.cache
def _clip_clap() -> ModelEntry:
    return clip_clap_entry()


def __getattr__(name: str) -> ModelEntry:
    # CLIP_CLAP checks the Hugging Face cache (importing huggingface_hub, a tenth of a second):
    # made when the registry first asks for it, when it lists the models or loads this one, not
    # when it only needs CLIP_CLAP_FOLDERS to open another folder.
    if name == "CLIP_CLAP":
        return _clip_clap()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
