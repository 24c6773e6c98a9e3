"""A training run's output folder, replaced only by a run that completed.

A run works in a sibling folder, ``<out>.partial``, and renames it to ``<out>`` when the
checkpoint is written, so ``<out>`` always holds the last complete run or nothing: a run that
fails or is interrupted leaves it as it was. The partial folder is kept when it holds completed
epochs, so ``--resume`` can continue an interrupted run; a resumed run of a completed folder
starts from a copy of it, and replaces it only when it completes in turn.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mmstudio.inputs.errors import InputError

PARTIAL_SUFFIX = ".partial"
# A completed run moved aside while its replacement is renamed into place.
REPLACED_SUFFIX = ".replaced"
# Every completed run folder holds a checkpoint config.
RUN_MARKER = "config.json"


class RunFolder:
    """``work`` is where the run writes; :meth:`commit` publishes it as ``out``."""

    def __init__(self, out: Path, resume: bool, has_state):
        """``has_state(folder)`` tells whether a folder holds a resumable training state."""
        self.out = Path(os.path.abspath(out))  # "." has no name to put a sibling beside
        self.work = self.out.with_name(self.out.name + PARTIAL_SUFFIX)
        _check_destination(self.out)
        _check_destination(self.work)
        _check_replaceable(self.out, has_state)
        self._has_state = has_state
        self.resumed_from = self._prepare(resume, has_state)

    def _prepare(self, resume: bool, has_state) -> Path | None:
        if resume and has_state(self.work):
            return self.work  # an interrupted run: its epochs are newer than the completed one
        _remove(self.work)
        try:
            if resume and has_state(self.out):
                shutil.copytree(self.out, self.work)
                return self.out
            self.work.mkdir(parents=True)
        except OSError as error:
            raise InputError(
                f"cannot create the run folder ({error.strerror or error})", self.work
            ) from error
        return None

    def commit(self) -> None:
        """Replace ``out`` by the completed run: two renames, so ``out`` is never half-written."""
        replaced = self.out.with_name(self.out.name + REPLACED_SUFFIX)
        _remove(replaced)
        if self.out.exists():
            self.out.rename(replaced)
        self.work.rename(self.out)
        _remove(replaced)

    def abandon(self, progressed: bool) -> str:
        """Clean up after a run that did not complete; says what became of its work.

        The partial folder stays when it holds epochs that ``out`` lacks: those of an interrupted
        run resumed here, or epochs this run ``progressed`` through before failing.
        """
        keep = progressed or self.resumed_from == self.work
        if keep and self._has_state(self.work):
            return (
                f"{self.out} is unchanged; the completed epochs are kept in {self.work}, "
                "and --resume continues from there"
            )
        _remove(self.work)
        return f"{self.out} is unchanged"


class ReadOnlyRunFolder:
    """The run folder as a distributed rank other than 0 sees it: rank 0 prepared it (a
    :class:`RunFolder`), this one only reads a resumed state from it and writes nothing."""

    def __init__(self, out: Path, resume: bool, has_state):
        self.out = Path(os.path.abspath(out))
        self.work = self.out.with_name(self.out.name + PARTIAL_SUFFIX)
        self.resumed_from = self.work if resume and has_state(self.work) else None

    def commit(self) -> None:
        """Rank 0 commits."""

    def abandon(self, progressed: bool) -> str:
        return f"{self.out} is left to rank 0"


def _check_destination(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise InputError(
            "the run folder is a file; give a folder (new or from an earlier run)", path
        )
    check_parents(path)


def check_parents(path: Path) -> None:
    """Refuse a path that could never be created because one of its parents is a file."""
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise InputError("a part of this path is a file, not a folder", path)


def _check_replaceable(out: Path, has_state) -> None:
    """A completed run replaces ``out`` as a whole, so it must not hold anyone else's files."""
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not (has_state(out) or (out / RUN_MARKER).is_file()):
        raise InputError(
            "the folder holds files that are not from a training run, and a completed run "
            "replaces the whole folder; give a new or empty folder",
            out,
        )


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
