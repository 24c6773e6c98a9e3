"""Named models and the folder formats that open a model by path.

Every model, the built-in ones included, comes from an entry point: ``mmstudio.models`` names
models (a loader(device) callable or a :class:`ModelEntry`) and ``mmstudio.model_formats``
names the backends that open a folder (a :class:`FolderFormat`). mmstudio's own pyproject.toml
declares its built-ins in the same groups a plugin uses, so this module imports no backend:
listing the models stays light, and a model's code is imported only when it is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError

ENTRY_POINT_GROUP = "mmstudio.models"
FORMAT_ENTRY_POINT_GROUP = "mmstudio.model_formats"
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
    # What the model does (mmstudio.models.protocol.TASKS), listed by `mmstudio models`. Kept
    # as text here, not imported: listing the models must not import torch.
    task: str = "classification"


@dataclass(frozen=True)
class FolderFormat:
    """A backend that opens models by path: ``claims(spec)`` says whether a folder (or other
    path-like spec) is in its format, ``load(spec, device)`` opens it. The one ``fallback``
    format opens whatever no other format claims, and explains what is missing."""

    name: str
    claims: Callable[[str], bool]
    load: Callable[[Any, Any], Any]
    fallback: bool = False


_REGISTRY: dict[str, ModelEntry] = {}
_FORMATS: list[FolderFormat] = []
# Entry points refused at discovery (a plugin reusing a taken name), one message each: shown
# by `mmstudio models` and doctor, since a refused plugin is otherwise simply missing.
_PROBLEMS: list[str] = []
_discovered = False
_formats_discovered = False


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
    task: str = "classification",
    overwrite: bool = False,
) -> ModelEntry:
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"a model named {name!r} is already registered")
    entry = ModelEntry(name, loader, description, location, source, available, problem, kind, task)
    _REGISTRY[name] = entry
    return entry


def _is_own(point) -> bool:
    return getattr(point.dist, "name", "") == "mmstudio"


def _own_first(group: str) -> list:
    """mmstudio's own entry points first, the default model at the top of the Model menu, then
    plugins in the order the installed distributions list them."""
    points = list(entry_points(group=group))
    return sorted(
        points,
        key=lambda point: (
            not _is_own(point),
            point.name != DEFAULT_MODEL,
        ),
    )


def _package(point) -> str:
    """The distribution an entry point comes from, as pip names it."""
    return getattr(point.dist, "name", "") or "an unknown package"


def _refused(name: str, point, owner: str) -> str:
    """Why ``point`` may not register ``name``, which ``owner`` (a distribution) holds."""
    holder = (
        f"mmstudio's built-in model '{name}'"
        if owner == "mmstudio"
        else f"the model '{name}' of the package '{owner}'"
    )
    return (
        f"the plugin package '{_package(point)}' registers a model named '{name}' "
        f"({point.value}), which would replace {holder}: it was refused and '{name}' stays "
        f"the one from '{owner}'; rename the entry point in '{_package(point)}'"
    )


def _discover_models() -> None:
    # Which distribution registered each name: the first one keeps it. mmstudio's own come
    # first, so a plugin can never silently stand in for a built-in model.
    owners: dict[str, str] = {}
    _PROBLEMS.clear()
    for point in _own_first(ENTRY_POINT_GROUP):
        if point.name not in owners:
            # One loaded already (see find_entry) moves back to its place in the listing.
            _REGISTRY.pop(point.name, None)
        _register_point(point, owners)


def _register_point(point, owners: dict[str, str]) -> None:
    if point.name in owners:
        _PROBLEMS.append(_refused(point.name, point, owners[point.name]))
        return
    try:
        target = point.load()
    except Exception as error:  # a broken plugin must not break the app
        owners[point.name] = _package(point)
        register_model(
            point.name,
            _unavailable(point.name),
            source=f"plugin {point.value}",
            available=False,
            problem=f"the plugin failed to import: {error}",
            kind="plugin",
            overwrite=True,
        )
        return
    if isinstance(target, ModelEntry):
        if target.name in owners and target.name != point.name:
            _PROBLEMS.append(_refused(target.name, point, owners[target.name]))
            return
        owners[point.name] = owners[target.name] = _package(point)
        # The package's own entries (digits, clip-clap) keep their kind; the rest are plugins.
        _REGISTRY[target.name] = target if _is_own(point) else replace(target, kind="plugin")
    elif callable(target):
        owners[point.name] = _package(point)
        register_model(
            point.name,
            target,
            description=(target.__doc__ or "").strip().split("\n")[0],
            source=f"plugin {point.value}",
            kind="plugin",
            overwrite=True,
        )


def _discover_formats() -> None:
    _FORMATS.clear()
    for point in _own_first(FORMAT_ENTRY_POINT_GROUP):
        try:
            target = point.load()
        except Exception:  # noqa: S112 - a broken format plugin leaves the others usable
            continue
        if isinstance(target, FolderFormat):
            _FORMATS.append(target)
    # The fallback answers last, whatever order the installed distributions list them in.
    _FORMATS.sort(key=lambda folder_format: folder_format.fallback)


def _unavailable(name: str) -> Callable[[Any], Any]:
    def loader(device):
        raise InputError(f"the model '{name}' cannot be loaded: {_REGISTRY[name].problem}")

    return loader


def _ensure_discovered() -> None:
    global _discovered
    if not _discovered:
        _discovered = True
        _discover_models()
    _ensure_formats()


def _ensure_formats() -> None:
    # Apart from the models: opening a folder imports no model entry, so it never runs their
    # availability checks (clip-clap's looks in the Hugging Face cache, a tenth of a second).
    global _formats_discovered
    if not _formats_discovered:
        _formats_discovered = True
        _discover_formats()


def find_entry(name: str) -> ModelEntry | None:
    """The entry called ``name``, or None. Before the models are listed, only the first entry
    point of that name is loaded, the one a listing keeps (the others would be refused), so
    loading a model costs no other model's import or availability check."""
    if not _discovered:
        for point in _own_first(ENTRY_POINT_GROUP):
            if point.name == name:
                _register_point(point, {})
                break
    return _REGISTRY.get(name)


def list_models() -> list[ModelEntry]:
    _ensure_discovered()
    return list(_REGISTRY.values())


def registry_problems() -> list[str]:
    """Entry points that were refused when the models were discovered, one message each."""
    _ensure_discovered()
    return list(_PROBLEMS)


def get_entry(name: str) -> ModelEntry:
    _ensure_discovered()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise InputError(f"there is no model named '{name}' (known models: {known})")
    return _REGISTRY[name]


def open_folder(spec: str | Path, device: Any = "cpu") -> Any:
    """Open a model by path with the first installed format that claims it."""
    _ensure_formats()
    for folder_format in _FORMATS:
        if folder_format.fallback or folder_format.claims(str(spec)):
            return folder_format.load(spec, device)
    raise InputError(
        f"{spec}: no installed model format opens this folder (is mmstudio installed?)"
    )


def get_model(name_or_path: str | Path | None = None, device: Any = "cpu") -> Any:
    """Load a registered model by name, or a model folder by path."""
    name_or_path = name_or_path or DEFAULT_MODEL
    path = Path(name_or_path)
    entry = find_entry(str(name_or_path))
    if entry is None and (path.exists() or path.suffix or "/" in str(name_or_path)):
        return open_folder(path, device)
    entry = entry or get_entry(str(name_or_path))
    if not entry.available:
        raise InputError(f"the model '{entry.name}' cannot be loaded: {entry.problem}")
    return entry.loader(device)


def short_name(spec: str | Path) -> str:
    """A model as a message names it: a folder by its last part, a registered name as it is."""
    return os.path.basename(str(spec).rstrip("/\\")) or str(spec)
