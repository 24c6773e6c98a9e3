"""Loading CLIP and CLAP with transformers: local files only unless a download is asked for,
safetensors only, and never remote code (the concrete CLIPModel / ClapModel classes are used,
so no code from a model repository is ever imported)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mmstudio.inputs.errors import InputError
from mmstudio.models.zeroshot.model import ClipClapModel
from mmstudio.models.zeroshot.sources import (
    HOW_TO_GET_WEIGHTS,
    TOWER_TYPES,
    cached_snapshot,
    cached_tower_problem,
    local_tower_problem,
    parse_labels,
    resolve_spec,
)


def load_clip_clap(
    path: str | Path,
    device: torch.device | str = "cpu",
    labels: list[str] | str | None = None,
    *,
    allow_download: bool = False,
    cache_dir: str | Path | None = None,
) -> ClipClapModel:
    """Open a zero-shot model: a folder (clip/ and/or clap/ saved with save_pretrained, plus an
    optional mmstudio.json), "clip-clap" for the default models in the Hugging Face cache, or
    Hugging Face ids joined by '+'. ``labels`` overrides the folder's labels."""
    spec = resolve_spec(path)
    clip, clip_processor = _load_tower("clip", spec.clip, allow_download, cache_dir)
    clap, clap_processor = _load_tower("clap", spec.clap, allow_download, cache_dir)
    model = ClipClapModel(
        clip,
        clip_processor,
        clap,
        clap_processor,
        labels=parse_labels(labels) if labels is not None else spec.labels,
        weights=spec.weights,
        templates=spec.templates,
        name=spec.name,
    )
    return model.to(device).eval()


def _load_tower(
    key: str, source: str | Path | None, allow_download: bool, cache_dir
) -> tuple[Any, Any]:
    if source is None:
        return None, None
    local = isinstance(source, Path) or Path(source).is_dir()
    problem = local_tower_problem(Path(source), key) if local else ""
    if not local and not allow_download:
        problem = cached_tower_problem(str(source), cache_dir)
        if not problem:
            source, local = cached_snapshot(str(source), cache_dir), True
    if problem:
        advice = "save the model there with save_pretrained" if local else HOW_TO_GET_WEIGHTS
        raise InputError(
            f"the {key.upper()} weights cannot be loaded: {problem}. To get them, {advice}."
        )
    model_class, processor_class = _classes(key)
    options = {"local_files_only": not allow_download, "cache_dir": None if local else cache_dir}
    try:
        model = model_class.from_pretrained(str(source), use_safetensors=True, **options)
        processor = processor_class.from_pretrained(str(source), **options)
    except (OSError, ValueError, KeyError) as error:
        raise InputError(
            f"the {key.upper()} model in {source} could not be loaded: {error}"
        ) from error
    if model.config.model_type != TOWER_TYPES[key]:
        raise InputError(f"{source} holds a '{model.config.model_type}' model, not {key.upper()}")
    return model.float().eval(), processor


def _classes(key: str):
    if key == "clip":
        from transformers import CLIPModel, CLIPProcessor

        return CLIPModel, CLIPProcessor
    from transformers import ClapModel, ClapProcessor

    return ClapModel, ClapProcessor
