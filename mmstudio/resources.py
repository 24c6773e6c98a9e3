"""Where shipped data lives, from a source checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resources_dir() -> Path:
    # A wheel carries the data inside the package (mmstudio/_resources); a checkout
    # or editable install keeps it in the repository's top-level resources/.
    for candidate in (_PACKAGE_DIR / "_resources", _PACKAGE_DIR.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("mmstudio's resources folder is missing: the installation is incomplete")


def default_model_dir() -> Path:
    return resources_dir() / "models" / "digits"


def samples_dir() -> Path:
    return resources_dir() / "samples"
