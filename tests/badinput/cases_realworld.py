"""Class 6: real-world files from other projects' test suites (tests/corpus), each given to
``mmstudio predict`` as it is. What each must do comes from what it is (tests/corpus/table.py):
load, or fail with a message that says the kind of failure."""

from __future__ import annotations

import shutil

from tests.badinput.builders import file_case
from tests.badinput.case import Case
from tests.corpus.table import ENTRIES, KIND_WORDS, LOADS, Entry, path_of


def _case(entry: Entry) -> Case:
    source = path_of(entry)
    if entry.expected == LOADS:
        expect, names = "accepted", None
    else:
        expect, names = "error", KIND_WORDS[entry.expected][0]
    return file_case(
        f"real-world {entry.path}",
        "realworld",
        entry.option,
        source.name,
        lambda path: shutil.copyfile(source, path),
        expect,
        names,
        # The window's drop runner already covers the loaders' kinds; these stay on the CLI.
        droppable=False,
    )


CASES: list[Case] = [_case(entry) for entry in ENTRIES]
