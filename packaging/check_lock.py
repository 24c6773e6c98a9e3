"""Prove that this environment holds exactly what the lock file says.

    python packaging/check_lock.py requirements/dev.txt

Prints the versions a bug report needs first (the torch set, PySide6, transformers), then fails
with status 1 naming every locked package whose installed version differs or which is missing.
Lock lines carry environment markers (the lock is universal), so only the lines meant for this
interpreter and platform count.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

HEADLINE = ("torch", "torchvision", "torchaudio", "pyside6", "transformers")


def locked_versions(lock: Path) -> dict[str, str]:
    """name -> pinned version, for the lock lines whose markers match this environment."""
    pins: dict[str, str] = {}
    for raw in lock.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            raise SystemExit(f"{lock}: cannot read the line {raw!r}: {error}") from error
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pinned = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        if len(pinned) != 1:
            raise SystemExit(f"{lock}: {requirement.name} is not pinned to one version")
        pins[canonicalize_name(requirement.name)] = pinned[0]
    return pins


def installed_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    lock = Path(argv[0])
    pins = locked_versions(lock)
    for name in HEADLINE:
        print(
            f"{name:<13} installed {installed_version(name) or 'missing':<10} locked {pins.get(name, '-')}"
        )
    wrong = []
    for name, pinned in sorted(pins.items()):
        found = installed_version(name)
        if found is None or Version(found) != Version(pinned):
            wrong.append(f"{name} {found or 'missing'} (the lock says {pinned})")
    if wrong:
        print(f"this environment differs from {lock}:", *wrong, sep="\n  ", file=sys.stderr)
        print("reinstall with: make clean && make test", file=sys.stderr)
        return 1
    print(f"all {len(pins)} locked packages match {lock}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
