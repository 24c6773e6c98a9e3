"""Help ▸ About: the versions a bug report needs."""

from __future__ import annotations

import platform
from importlib import metadata

import PySide6
from PySide6.QtCore import qVersion

import mmstudio


def _version(package: str) -> str:
    # From the installed metadata, so that About never imports torch on the GUI thread.
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions(device: str = "") -> dict[str, str]:
    return {
        "mmstudio": mmstudio.__version__,
        "Python": platform.python_version(),
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "PyTorch": _version("torch"),
        "pyqtgraph": _version("pyqtgraph"),
        "Device": device or "no model loaded",
    }


def about_html(device: str = "", model: str = "") -> str:
    rows = "".join(
        f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in versions(device).items()
    )
    model_line = f"<p>Model: {model}</p>" if model else ""
    return (
        "<h3>mmstudio</h3>"
        "<p>A desktop studio for multimodal fusion models: what a model predicts from an image, "
        "a text and a sound, where it looked, and how much each modality contributed.</p>"
        f"{model_line}<table>{rows}</table>"
    )
