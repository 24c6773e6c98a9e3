"""Short ways to declare a corpus case: a file written by a function, given to one option of
``mmstudio predict --json`` (and, for image and audio files, dropped on the window)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.badinput.case import Case, Expect

Writer = Callable[[Path], object]


def predict(*options: str) -> list[str]:
    return ["predict", *options, "--json"]


def file_case(
    name: str,
    klass: str,
    option: str,
    filename: str,
    write: Writer,
    expect: Expect,
    names: str | None = None,
    *,
    extra: tuple[str, ...] = (),
    droppable: bool = True,
) -> Case:
    """``write(path)`` creates ``filename``; the case runs ``predict <option> path --json``.

    An error must name the file unless ``names`` says what else it must name.
    """

    def build(folder: Path) -> list[str]:
        path = folder / filename
        write(path)
        return predict(option, str(path), *extra)

    if expect == "error" and names is None:
        names = filename
    drop = (lambda folder: folder / filename) if droppable else None
    return Case(name, klass, build, expect, names, drop)


def args_case(
    name: str,
    klass: str,
    args: Callable[[Path], list[str]],
    expect: Expect,
    names: str | None = None,
) -> Case:
    """A case that is only command-line arguments (``args(folder)`` may write files too)."""
    return Case(name, klass, args, expect, names)
