"""Write a set of files all or nothing, the way the dataset engine writes its Parquet parts.

Every file is first written whole under a temporary name in the target folder; only when all
are written are they renamed into place. A failure at any step (a full disk, a folder where a
file should go) removes what this call wrote and puts back any file it was replacing, so the
folder holds the whole new set or what it held before, never a mix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

Writer = Callable[[BinaryIO], None]


class FileSetError(OSError):
    """One file of the set could not be written; none of the set was. ``filename`` names it."""


def write_all_or_nothing(folder: Path, files: Sequence[tuple[str, Writer]]) -> list[Path]:
    """Write each ``(name, writer)`` as ``folder / name``; ``writer`` fills an open stream."""
    tag = f".{os.getpid()}.part"
    # Named, not mkstemp: the files then get the usual permissions (mkstemp's are owner-only).
    staged: list[tuple[Path, Path]] = []
    try:
        for name, writer in files:
            target = folder / name
            temporary = folder / f".{name}{tag}"
            staged.append((temporary, target))
            try:
                with temporary.open("wb") as stream:
                    writer(stream)
                    stream.flush()
                    os.fsync(stream.fileno())  # the rename must not reach the disk first
            except OSError as error:
                raise _naming(error, target) from error
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    _rename_all(staged, tag)
    return [target for _, target in staged]


def _rename_all(staged: list[tuple[Path, Path]], tag: str) -> None:
    placed: list[tuple[Path, Path | None]] = []  # (target, the old file kept aside, if any)
    try:
        for temporary, target in staged:
            kept = None
            if target.is_file() or target.is_symlink():
                kept = target.with_name(f".{target.name}{tag}.old")
                os.replace(target, kept)
            try:
                os.replace(temporary, target)
            except OSError as error:
                if kept is not None:
                    os.replace(kept, target)
                raise _naming(error, target) from error
            placed.append((target, kept))
    except BaseException:
        for target, kept in reversed(placed):
            if kept is not None:
                os.replace(kept, target)
            else:
                target.unlink(missing_ok=True)
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    for _, kept in placed:
        if kept is not None:
            kept.unlink(missing_ok=True)


def _naming(error: OSError, target: Path) -> FileSetError:
    reason = error.strerror or str(error)
    if target.is_dir():
        reason = "a folder of that name is in the way"
    return FileSetError(error.errno, reason, str(target))
