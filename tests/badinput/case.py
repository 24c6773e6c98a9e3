"""One case of the bad-input corpus: how to make the input, and what must happen to it.

Every class of bad input (model folders, training runs, decoding, garbage, CLI options) adds its
cases as ``CASES: list[Case]`` in a module ``tests/badinput/cases_<class>.py``; the corpus runner
collects them all and runs each through the command line, and the ones with ``drop`` through real
drops on the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# error: non-zero exit, a one-line message naming ``names``, no traceback.
# accepted: exit 0, valid JSON, no note required.  noted: exit 0, valid JSON, and an Analysis note
# containing ``names``.  Every outcome: never a traceback, never more than 2 GB peak memory.
Expect = Literal["error", "accepted", "noted"]


@dataclass(frozen=True)
class Case:
    name: str  # unique, readable: "config.json is a JSON array"
    klass: str  # "models", "training", "decoding", "garbage", "cli"
    # Creates the input files under the given empty folder; returns the arguments after `mmstudio`,
    # e.g. ["predict", "--image", str(path), "--json"].
    build: Callable[[Path], list[str]]
    expect: Expect
    # What the message (error) or a note (noted) must contain, compared case-insensitively:
    # the file name or the field at fault. None only for "accepted".
    names: str | None = None
    # For cases that apply to the window: given the folder build() filled, the file to drop on it.
    drop: Callable[[Path], Path] | None = None
