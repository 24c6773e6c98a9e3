"""Named models: the built-in ones, plugins from the ``mmstudio.models`` entry-point
group, and checkpoint folders opened by path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError

ENTRY_POINT_GROUP = "mmstudio.models"
DEFAULT_MODEL = "digits"


@dataclass
class ModelEntry:
    """How to load one named model. ``loader(device)`` returns a ready model."""

    name: str
    loader: Callable[[Any], Any]
    description: str = ""
    location: str = ""
    source: str = "built-in"
    available: bool = True
    # Why the model cannot be loaded, when ``available`` is False.
    problem: str = ""
    # What the entry is, which decides how its problem is explained: "checkpoint" (trained
    # weights in a folder), "zero-shot" (pretrained weights from the Hugging Face cache) or
    # "plugin" (a model from another package).
    kind: str = "checkpoint"


_REGISTRY: dict[str, ModelEntry] = {}
_discovered = False


def register_model(
    name: str,
    loader: Callable[[Any], Any],
    *,
    description: str = "",
    location: str = "",
    source: str = "built-in",
    available: bool = True,
    problem: str = "",
    kind: str = "checkpoint",
    overwrite: bool = False,
) -> ModelEntry:
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"a model named {name!r} is already registered")
    entry = ModelEntry(name, loader, description, location, source, available, problem, kind)
    _REGISTRY[name] = entry
    return entry


def _load_folder(folder: Path, device: Any) -> Any:
    from mmstudio.models.zeroshot import is_clip_clap_source  # light: no torch

    if is_clip_clap_source(folder):
        from mmstudio.models.zeroshot import load_clip_clap

        return load_clip_clap(folder, device)
    from mmstudio.models.checkpoint import load_checkpoint  # imports torch: only when loading

    return load_checkpoint(folder, device)


def _register_builtins() -> None:
    from mmstudio.resources import default_model_dir

    folder = default_model_dir()
    trained = (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    register_model(
        DEFAULT_MODEL,
        lambda device: _load_folder(folder, device),
        description="Digits 0-9 from a handwritten or printed image, spoken English, and typed text "
        "(attention fusion, trained by this project)",
        location=str(folder),
        available=trained,
        problem="" if trained else "the shipped weights are missing from this installation",
        overwrite=True,
    )
    from mmstudio.models.zeroshot import register_builtin_backends

    register_builtin_backends()


def _discover_plugins() -> None:
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = point.load()
        except Exception as error:  # a broken plugin must not break the app
            register_model(
                point.name,
                _unavailable(point.name),
                source=f"plugin {point.value}",
                available=False,
                problem=f"the plugin failed to import: {error}",
                kind="plugin",
                overwrite=True,
            )
            continue
        if isinstance(target, ModelEntry):
            _REGISTRY[target.name] = replace(target, kind="plugin")
        elif callable(target):
            register_model(
                point.name,
                target,
                description=(target.__doc__ or "").strip().split("\n")[0],
                source=f"plugin {point.value}",
                kind="plugin",
                overwrite=True,
            )


def _unavailable(name: str) -> Callable[[Any], Any]:
    def loader(device):
        raise InputError(f"the model '{name}' cannot be loaded: {_REGISTRY[name].problem}")

    return loader


def _ensure_discovered() -> None:
    global _discovered
    if not _discovered:
        _discovered = True
        _register_builtins()
        _discover_plugins()


def list_models() -> list[ModelEntry]:
    _ensure_discovered()
    return list(_REGISTRY.values())


def get_entry(name: str) -> ModelEntry:
    _ensure_discovered()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise InputError(f"there is no model named '{name}' (known models: {known})")
    return _REGISTRY[name]


def get_model(name_or_path: str | Path | None = None, device: Any = "cpu") -> Any:
    """Load a registered model by name, or a checkpoint folder by path."""
    name_or_path = name_or_path or DEFAULT_MODEL
    path = Path(name_or_path)
    if str(name_or_path) not in _names() and (
        path.exists() or path.suffix or "/" in str(name_or_path)
    ):
        return _load_folder(path, device)
    entry = get_entry(str(name_or_path))
    if not entry.available:
        raise InputError(f"the model '{entry.name}' cannot be loaded: {entry.problem}")
    return entry.loader(device)


def _names() -> set[str]:
    _ensure_discovered()
    return set(_REGISTRY)
