"""Collects every class's cases (every ``tests/badinput/cases_*.py``), so a new class of bad
input joins the corpus by adding a module, without touching the runners."""

from __future__ import annotations

import importlib
from pathlib import Path

from tests.badinput.case import Case

HERE = Path(__file__).parent
# The limit every case must stay under, whatever it is: the whole process's peak memory.
PEAK_LIMIT_BYTES = 2 * 2**30


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for module_path in sorted(HERE.glob("cases_*.py")):
        module = importlib.import_module(f"tests.badinput.{module_path.stem}")
        cases.extend(module.CASES)
    names = [case.name for case in cases]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"corpus case names must be unique: {duplicates}")
    return cases
