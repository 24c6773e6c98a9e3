"""Where the CLIP and CLAP weights come from: a user's folder or the local Hugging Face cache.

This module must stay light (no torch, no transformers): the registry calls it while the
window lists its models, and a missing model has to be reported without loading anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmstudio import MODALITIES
from mmstudio.inputs.errors import InputError

ARCHITECTURE = "clip-clap"
SETTINGS_FILE = "mmstudio.json"
DEFAULT_CLIP = "openai/clip-vit-base-patch32"
DEFAULT_CLAP = "laion/clap-htsat-unfused"
DEFAULT_LABELS = ["dog", "cat", "bird", "car", "siren", "music", "speech", "rain"]
# The Hugging Face pipelines' own prompts, so our probabilities match theirs on the same weights.
DEFAULT_TEMPLATES = {
    "image": "This is a photo of {}.",
    "text": "{}",
    "audio": "This is a sound of {}.",
}
TOWER_TYPES = {"clip": "clip", "clap": "clap"}  # folder / settings key -> config.json model_type

HOW_TO_GET_WEIGHTS = (
    "run once with --allow-download (it fetches the safetensors weights into the Hugging Face "
    "cache), or point --model at a folder saved with save_pretrained (see docs/plugins.md)"
)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_PICKLE_WEIGHTS = ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack")


@dataclass
class ClipClapSpec:
    """What to load: each tower is a local folder or a Hugging Face model id (None: not used)."""

    clip: str | Path | None = DEFAULT_CLIP
    clap: str | Path | None = DEFAULT_CLAP
    labels: list[str] = field(default_factory=lambda: list(DEFAULT_LABELS))
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(MODALITIES, 1.0))
    templates: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    name: str = ARCHITECTURE


def is_hub_id(text: str | Path) -> bool:
    return isinstance(text, str) and bool(_HUB_ID.match(text)) and not Path(text).exists()


def hub_cache_dir(cache_dir: str | Path | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    from huggingface_hub import constants  # light; read at call time so HF_HUB_CACHE is honoured

    return Path(constants.HF_HUB_CACHE)


def _tower_type(folder: Path) -> str | None:
    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError, RecursionError):  # not a tower's config
        return None


def is_clip_clap_folder(path: str | Path) -> bool:
    """A folder this backend opens: clip/ and/or clap/ subfolders (each a save_pretrained
    output) with an optional mmstudio.json, or a single CLIP or CLAP save_pretrained folder."""
    folder = Path(path)
    if not folder.is_dir():
        return False
    if (folder / SETTINGS_FILE).is_file():
        try:
            return _read_settings(folder).get("architecture", ARCHITECTURE) == ARCHITECTURE
        except InputError:  # ours but broken: loading it explains what is wrong
            return True
    if any(_tower_type(folder / key) == kind for key, kind in TOWER_TYPES.items()):
        return True
    return _tower_type(folder) in TOWER_TYPES.values()


def is_clip_clap_source(name_or_path: str | Path) -> bool:
    """The name "clip-clap", a folder as above, or Hugging Face ids of CLIP / CLAP models joined by '+'
    ("openai/clip-vit-base-patch32+laion/clap-htsat-unfused"); ids are recognised by name only,
    so a missing one still gets this backend's explanation of how to fetch it."""
    if str(name_or_path) == ARCHITECTURE or is_clip_clap_folder(name_or_path):
        return True
    parts = str(name_or_path).split("+")
    return all(is_hub_id(part) and _guess_tower(part) for part in parts)


def _guess_tower(hub_id: str) -> str | None:
    lowered = hub_id.lower()
    for key in ("clap", "clip"):  # "clap" first: no CLAP id contains "clip", the reverse is unknown
        if key in lowered:
            return key
    return None


def _read_settings(folder: Path) -> dict[str, Any]:
    path = folder / SETTINGS_FILE
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{SETTINGS_FILE} could not be read as JSON ({error})", path) from error
    if not isinstance(settings, dict):
        raise InputError(f"{SETTINGS_FILE} must hold a JSON object", path)
    return settings


def resolve_spec(name_or_path: str | Path) -> ClipClapSpec:
    """The towers, labels, weights and prompts that ``name_or_path`` stands for."""
    text = str(name_or_path)
    if text == ARCHITECTURE:
        return ClipClapSpec()
    if not Path(text).is_dir() and is_clip_clap_source(text):
        return _spec_from_ids(text.split("+"))
    folder = Path(name_or_path)
    if not folder.is_dir():
        raise InputError("the model folder does not exist", folder)
    if not is_clip_clap_folder(folder):
        raise InputError(
            "this folder holds neither clip/ nor clap/ weights nor an mmstudio.json", folder
        )
    return _spec_from_folder(folder)


def _spec_from_ids(ids: list[str]) -> ClipClapSpec:
    towers = {_guess_tower(hub_id): hub_id for hub_id in ids}
    return ClipClapSpec(clip=towers.get("clip"), clap=towers.get("clap"), name="+".join(ids))


def _spec_from_folder(folder: Path) -> ClipClapSpec:
    settings = _read_settings(folder) if (folder / SETTINGS_FILE).is_file() else {}
    spec = ClipClapSpec(clip=None, clap=None, name=folder.name)
    own_type = _tower_type(folder)
    for key in TOWER_TYPES:
        declared = settings.get(key)
        if declared is not None:
            setattr(spec, key, _tower_location(folder, declared))
        elif (folder / key).is_dir():
            setattr(spec, key, folder / key)
        elif own_type == TOWER_TYPES[key]:
            setattr(spec, key, folder)
    if spec.clip is None and spec.clap is None:
        raise InputError(
            "the folder names no CLIP or CLAP weights (expected clip/ or clap/ subfolders)", folder
        )
    if "labels" in settings:
        spec.labels = parse_labels(settings["labels"], source=folder / SETTINGS_FILE)
    spec.weights = _weights(settings.get("weights", {}), folder / SETTINGS_FILE)
    spec.templates = _templates(settings.get("templates", {}), folder / SETTINGS_FILE)
    return spec


def _tower_location(folder: Path, declared: Any) -> str | Path:
    if not isinstance(declared, str) or not declared:
        raise InputError(
            "'clip' and 'clap' must name a subfolder or a Hugging Face model id",
            folder / SETTINGS_FILE,
        )
    local = folder / declared
    return local if local.is_dir() or not is_hub_id(declared) else declared


def _weights(raw: Any, source: Path) -> dict[str, float]:
    if not isinstance(raw, dict) or not set(raw) <= set(MODALITIES):
        raise InputError(f"'weights' must map some of {', '.join(MODALITIES)} to numbers", source)
    weights = dict.fromkeys(MODALITIES, 1.0)
    for modality, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise InputError(
                f"the weight of {modality} must be a number of at least 0 (got {value!r})", source
            )
        weights[modality] = float(value)
    return weights


def _templates(raw: Any, source: Path) -> dict[str, str]:
    templates = dict(DEFAULT_TEMPLATES)
    if not isinstance(raw, dict) or not set(raw) <= set(MODALITIES):
        raise InputError(f"'templates' must map some of {', '.join(MODALITIES)} to prompts", source)
    for modality, template in raw.items():
        if not isinstance(template, str) or template.count("{}") != 1:
            raise InputError(
                f"the {modality} template must contain '{{}}' once, where the label goes", source
            )
        templates[modality] = template
    return templates


def parse_labels(
    labels: str | list[str] | tuple[str, ...], source: str | Path | None = None
) -> list[str]:
    """Candidate labels as typed ("dog, cat, car, siren", one per line, or a list):
    stripped, empty ones dropped, duplicates removed in order."""
    if isinstance(labels, str):
        labels = re.split(r"[,\n;]", labels)
    if not isinstance(labels, (list, tuple)) or not all(isinstance(label, str) for label in labels):
        raise InputError(
            "labels must be text: a list of labels or one line separated by commas", source
        )
    cleaned = list(dict.fromkeys(" ".join(label.split()) for label in labels if label.strip()))
    if len(cleaned) < 2:
        raise InputError(
            "give at least two candidate labels, separated by commas (e.g. 'dog, cat, siren')",
            source,
        )
    return cleaned


def local_tower_problem(folder: Path, key: str) -> str:
    """Why a local tower folder cannot be loaded, or "" when it can."""
    if not folder.is_dir():
        return f"the {key} folder {folder} does not exist"
    kind = _tower_type(folder)
    if kind is None:
        return f"{folder} has no readable config.json (save the model there with save_pretrained)"
    if kind != TOWER_TYPES[key]:
        return f"{folder} holds a '{kind}' model, not {key.upper()}"
    if not _has_safetensors(folder):
        if any((folder / name).is_file() for name in _PICKLE_WEIGHTS):
            return (
                f"{folder} holds only pickle weights, which mmstudio refuses to load (they can run code); "
                "save them again with save_pretrained(..., safe_serialization=True) to get model.safetensors"
            )
        return f"model.safetensors is missing from {folder}"
    return ""


def _has_safetensors(folder: Path) -> bool:
    return (folder / "model.safetensors").is_file() or (
        folder / "model.safetensors.index.json"
    ).is_file()


def cached_tower_problem(hub_id: str, cache_dir: str | Path | None = None) -> str:
    """Why ``hub_id`` cannot be loaded from the local cache alone, or "" when it can."""
    from huggingface_hub import try_to_load_from_cache

    where = hub_cache_dir(cache_dir)

    def cached(filename: str) -> bool:
        return isinstance(try_to_load_from_cache(hub_id, filename, cache_dir=where), str)

    if not cached("config.json"):
        return f"'{hub_id}' is not in the Hugging Face cache ({where})"
    if not (cached("model.safetensors") or cached("model.safetensors.index.json")):
        return f"the cached '{hub_id}' ({where}) has no model.safetensors, and mmstudio loads no pickle weights"
    return ""


def cached_snapshot(hub_id: str, cache_dir: str | Path | None = None) -> Path:
    """The cache's local folder for ``hub_id``. Loading from it, rather than by id, keeps
    transformers and huggingface_hub off the network entirely: even with local_files_only
    they build request headers, which can look things up on the Hub."""
    from huggingface_hub import try_to_load_from_cache

    return Path(
        try_to_load_from_cache(hub_id, "config.json", cache_dir=hub_cache_dir(cache_dir))
    ).parent


def default_weights_problem(cache_dir: str | Path | None = None) -> str:
    """Why the built-in 'clip-clap' entry is unavailable, or "" when both towers are cached."""
    problems = [
        p
        for p in (
            cached_tower_problem(DEFAULT_CLIP, cache_dir),
            cached_tower_problem(DEFAULT_CLAP, cache_dir),
        )
        if p
    ]
    return "; ".join(problems + [HOW_TO_GET_WEIGHTS]) if problems else ""
