"""Where shipped data lives: one lookup for a checkout, an editable install and a wheel.

The top-level resources/ folder is installed as the package ``mmstudio._resources`` (setup.py
maps it), so importlib.resources finds it wherever mmstudio was installed from.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

RESOURCES_PACKAGE = "mmstudio._resources"
_MISSING = (
    "mmstudio's resources (the built-in model and the samples) are missing: the installation is "
    "incomplete. Reinstall mmstudio, or run `pip install -e .` in a source checkout."
)


def resources_dir() -> Path:
    try:
        root = resources.files(RESOURCES_PACKAGE)
    except ModuleNotFoundError as error:
        raise FileNotFoundError(_MISSING) from error
    # Wheels install unzipped, so the data are real files; the views and the model loader
    # need paths (safetensors memory-maps the weights).
    path = Path(str(root))
    if not path.is_dir():
        raise FileNotFoundError(_MISSING)
    return path


def default_model_dir() -> Path:
    return resources_dir() / "models" / "digits"


def chat_model_dir() -> Path:
    """digits-chat: the generative model the project trains (a transformers folder)."""
    return resources_dir() / "models" / "digits-chat"


def samples_dir() -> Path:
    return resources_dir() / "samples"


def icons_dir() -> Path:
    """The application icon: mmstudio.svg and mmstudio-SIZE.png (packaging/render_icons.py)."""
    return resources_dir() / "icons"
