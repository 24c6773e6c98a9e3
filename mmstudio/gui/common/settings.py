"""Where the studio keeps its settings, and typed access to them.

The settings are an INI file in the user's config folder on every platform, so a test
(or a second installation) can redirect the whole store with one ``QSettings.setPath``
call, or with the ``MMSTUDIO_SETTINGS_DIR`` environment variable.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields

from PySide6.QtCore import QByteArray, QSettings

from mmstudio.inputs.errors import InputError
from mmstudio.models.generative.options import GenerationOptions

ORGANIZATION = "mmstudio"
APPLICATION = "mmstudio"
SETTINGS_DIR_ENV = "MMSTUDIO_SETTINGS_DIR"


def redirect_from_environment() -> None:
    folder = os.environ.get(SETTINGS_DIR_ENV)
    if folder:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)


def open_settings() -> QSettings:
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


def read_str(settings: QSettings, key: str, default: str = "") -> str:
    value = settings.value(key, default)
    return value if isinstance(value, str) else default


def read_float(settings: QSettings, key: str, default: float) -> float:
    # INI files store everything as text; a hand-edited value must not crash the window.
    try:
        return float(settings.value(key, default))
    except (TypeError, ValueError):
        return default


@dataclass
class StudioSettings:
    """Everything the window remembers between sessions: read once at start, written on close
    (and when a device or a folder is chosen, so a crash does not lose the choice)."""

    device: str = "auto"
    image_folder: str = ""
    audio_folder: str = ""
    model_folder: str = ""
    export_folder: str = ""
    dataset_folder: str = ""
    # The second model the Dataset view compares with (a name or a folder); "" for none.
    dataset_compare_model: str = ""
    colormap: str = "inferno"
    opacity: float | None = None  # None: the results panel's default
    compare_model: str = ""  # Model ▸ Compare With: a registered name or a folder; "" for none
    geometry: QByteArray | None = None
    window_state: QByteArray | None = None
    splitters: dict[str, QByteArray] = field(default_factory=dict)

    _FOLDERS = {
        "image_folder": "folders/image",
        "audio_folder": "folders/audio",
        "model_folder": "folders/model",
        "export_folder": "folders/export",
        "dataset_folder": "folders/dataset",
    }

    @classmethod
    def read(cls, store: QSettings, splitter_names: tuple[str, ...]) -> StudioSettings:
        opacity = read_float(store, "opacity", -1.0)
        return cls(
            device=read_str(store, "device", "auto"),
            colormap=read_str(store, "colormap", "inferno"),
            dataset_compare_model=read_str(store, "dataset/compare_model"),
            opacity=None if opacity < 0 else opacity,
            compare_model=read_str(store, "compare/model"),
            geometry=_bytes(store.value("window/geometry")),
            window_state=_bytes(store.value("window/state")),
            splitters={
                name: state
                for name in ("main", *splitter_names)
                if (state := _bytes(store.value(f"splitters/{name}"))) is not None
            },
            **{name: read_str(store, key) for name, key in cls._FOLDERS.items()},
        )

    def write(self, store: QSettings) -> None:
        store.setValue("device", self.device)
        store.setValue("colormap", self.colormap)
        store.setValue("dataset/compare_model", self.dataset_compare_model)
        if self.opacity is not None:
            store.setValue("opacity", self.opacity)
        store.setValue("compare/model", self.compare_model)
        for name, key in self._FOLDERS.items():
            store.setValue(key, getattr(self, name))
        if self.geometry is not None:
            store.setValue("window/geometry", self.geometry)
        if self.window_state is not None:
            store.setValue("window/state", self.window_state)
        for name, state in self.splitters.items():
            store.setValue(f"splitters/{name}", state)
        store.sync()


def read_int(settings: QSettings, key: str, default: int) -> int:
    try:
        return int(float(settings.value(key, default)))
    except (TypeError, ValueError):
        return default


def read_text(settings: QSettings, key: str, default: str) -> str:
    value = settings.value(key, default)
    return value if isinstance(value, str) else default


def read_bool(settings: QSettings, key: str, default: bool) -> bool:
    # An INI file gives "true"/"false" back as text.
    value = settings.value(key, default)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


@dataclass
class GenerationSettings:
    """How a generative model decodes (Generation ▸ Options…), remembered between sessions:
    the fields and defaults of :class:`GenerationOptions`."""

    max_new_tokens: int = GenerationOptions.max_new_tokens
    do_sample: bool = GenerationOptions.do_sample
    temperature: float = GenerationOptions.temperature
    top_p: float = GenerationOptions.top_p
    seed: int = GenerationOptions.seed
    contrastive: bool = GenerationOptions.contrastive
    map_method: str = GenerationOptions.map_method

    @classmethod
    def read(cls, store: QSettings) -> GenerationSettings:
        default = cls()
        readers = {int: read_int, float: read_float, bool: read_bool, str: read_text}
        values = {
            f.name: readers[type(getattr(default, f.name))](
                store, f"generation/{f.name}", getattr(default, f.name)
            )
            for f in fields(cls)
        }
        chosen = cls(**values)
        try:
            chosen.options()
        except InputError:
            return default  # a hand-edited value out of range: the defaults, not a crash
        return chosen

    def write(self, store: QSettings) -> None:
        for name, value in asdict(self).items():
            store.setValue(f"generation/{name}", value)
        store.sync()

    def options(self) -> GenerationOptions:
        """InputError when a value is out of range."""
        return GenerationOptions(**asdict(self))


def _bytes(value) -> QByteArray | None:
    return value if isinstance(value, QByteArray) and not value.isEmpty() else None
