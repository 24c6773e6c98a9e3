"""Help ▸ About: the versions a bug report needs."""

from __future__ import annotations

import platform

import PySide6
from PySide6.QtCore import qVersion

import mmstudio
from mmstudio.system import installed_version


def versions(device: str = "") -> dict[str, str]:
    return {
        "mmstudio": mmstudio.__version__,
        "Python": platform.python_version(),
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "PyTorch": installed_version("torch"),
        "pyqtgraph": installed_version("pyqtgraph"),
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
