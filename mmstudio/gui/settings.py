"""Where the studio keeps its settings, and typed access to them.

The settings are an INI file in the user's config folder on every platform, so a test
(or a second installation) can redirect the whole store with one ``QSettings.setPath``
call, or with the ``MMSTUDIO_SETTINGS_DIR`` environment variable.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

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


def read_bool(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)
