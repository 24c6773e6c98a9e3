"""Prove that this environment holds every direct dependency at its declared floor.

    python packaging/check_floors.py dev data scale

Run in the environment `make test-lowest` builds (uv's --resolution lowest-direct). The
requirements are read from the installed mmstudio's own metadata (pyproject.toml as installed),
with the named extras. Each one must have a lower bound, and the installed version must be exactly
that bound: a floor that the resolver could not reach (another package asks for more) is never
tested, so it has to be raised to what is reachable. Fails with status 1 naming each such package.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, requires, version

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

LOWER_BOUNDS = (">=", "==", "~=", "===")


def direct_requirements(extras: list[str]) -> list[Requirement]:
    """mmstudio's requirements that apply here with these extras (markers evaluated)."""
    found: dict[str, Requirement] = {}  # one per package: two extras may name the same one
    for line in requires("mmstudio") or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in ["", *extras]):
            found.setdefault(canonicalize_name(requirement.name), requirement)
    return list(found.values())


def floor(requirement: Requirement) -> Version | None:
    bounds = [Version(s.version) for s in requirement.specifier if s.operator in LOWER_BOUNDS]
    return max(bounds, default=None)


def problems(requirements: list[Requirement]) -> list[str]:
    wrong = []
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        lowest = floor(requirement)
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            wrong.append(f"{name}: not installed")
            continue
        if lowest is None:
            wrong.append(f"{name}: '{requirement}' has no floor (the lowest release would be used)")
        elif installed != lowest:
            wrong.append(
                f"{name}: the floor is {lowest} but the resolver had to take {installed}; "
                f"raise the floor to {installed}"
            )
    return wrong


def main(extras: list[str]) -> int:
    requirements = direct_requirements(extras)
    wrong = problems(requirements)
    if wrong:
        print("these declared floors are not what was installed:", *wrong, sep="\n  ")
        return 1
    print(f"all {len(requirements)} direct dependencies are installed at their floors:")
    for requirement in sorted(requirements, key=lambda r: canonicalize_name(r.name)):
        print(f"  {canonicalize_name(requirement.name):<18} {version(requirement.name)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
