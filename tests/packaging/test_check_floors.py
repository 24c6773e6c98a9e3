"""packaging/check_floors.py, the judge of `make test-lowest`, on this environment's real
installed versions: a floor below what is installed, and a requirement without a floor, are
reported; a floor equal to the installed version is not."""

from __future__ import annotations

import importlib.util
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

SCRIPT = Path(__file__).resolve().parents[2] / "packaging" / "check_floors.py"


def _check_floors():
    spec = importlib.util.spec_from_file_location("check_floors", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_floor_is_the_highest_lower_bound():
    floor = _check_floors().floor
    assert floor(Requirement("PySide6>=6.7,!=6.12.*")) == Version("6.7")
    assert floor(Requirement("torch==2.11.0")) == Version("2.11.0")
    assert floor(Requirement("numpy>=1.2,>=2.0,<3")) == Version("2.0")
    assert floor(Requirement("wheel")) is None


def test_only_a_floor_that_was_installed_passes():
    problems = _check_floors().problems
    installed = version("numpy")
    assert problems([Requirement(f"numpy>={installed}")]) == []
    assert problems([Requirement(f"numpy=={installed}")]) == []
    (too_low,) = problems([Requirement("numpy>=0.1")])
    assert too_low == (
        f"numpy: the floor is 0.1 but the resolver had to take {installed}; "
        f"raise the floor to {installed}"
    )
    (bare,) = problems([Requirement("numpy")])
    assert "has no floor" in bare
    (missing,) = problems([Requirement("no-such-package-mmstudio>=1")])
    assert missing == "no-such-package-mmstudio: not installed"


def test_the_extras_named_add_their_requirements_once():
    direct = _check_floors().direct_requirements
    names = [r.name.lower() for r in direct([])]
    assert "numpy" in names and "pytest" not in names
    with_extras = [r.name.lower() for r in direct(["dev", "data"])]
    assert "pytest" in with_extras and with_extras.count("scikit-learn") == 1
