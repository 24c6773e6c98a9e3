"""What this machine offers mmstudio, found without importing Qt or torch.

Used twice: before the window opens (a missing xcb library would otherwise end in Qt's
"could not load the Qt platform plugin" wall of hints) and by ``mmstudio doctor``.
Every check takes its lookup as an argument, so tests can ask "what if this library were
missing?" without uninstalling anything.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from importlib import metadata

INSTALL_SCRIPT = "packaging/install_system_deps.sh"

# What Qt's xcb platform plugin loads, with the Debian/Ubuntu package that ships it.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}
PORTAUDIO_LIBRARY = ("libportaudio.so.2", "libportaudio2")
PULSE_LIBRARY = ("libpulse.so.0", "libpulse0")

LibraryLookup = Callable[[str], bool]


def can_load(soname: str) -> bool:
    """Whether the dynamic loader finds this shared library (what Qt's plugin will ask it)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_packages(
    libraries: Mapping[str, str], lookup: LibraryLookup | None = None
) -> list[str]:
    lookup = lookup or can_load
    return [package for soname, package in libraries.items() if not lookup(soname)]


def uses_xcb(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt will try its xcb (X11) plugin: Linux, and no other platform asked for."""
    if not platform.startswith("linux"):
        return False
    requested = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if requested:
        return requested == "xcb"
    # Qt 6 prefers Wayland when a Wayland session is running, and falls back to xcb.
    return not environ.get("WAYLAND_DISPLAY")


def xcb_problem(
    environ: Mapping[str, str] = os.environ,
    platform: str = sys.platform,
    lookup: LibraryLookup | None = None,
) -> str | None:
    """One line saying what to install, or None when the window can open."""
    if not uses_xcb(environ, platform):
        return None
    missing = missing_packages(XCB_LIBRARIES, lookup)
    if not missing:
        return None
    return (
        f"mmstudio cannot open its window: Qt's X11 (xcb) plugin needs system libraries that are "
        f"missing ({', '.join(missing)}). Install them with `sudo bash {INSTALL_SCRIPT}` from a "
        f"source checkout, or `sudo apt-get install {' '.join(missing)}`."
    )


def has_command(name: str) -> bool:
    return shutil.which(name) is not None


def installed_version(package: str) -> str:
    """The installed distribution's version, from its metadata: asking never imports the
    package (the window's About must not import torch on the GUI thread)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
