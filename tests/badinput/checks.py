"""What every corpus outcome must satisfy, shared by the command-line and window runners."""

from __future__ import annotations

import json

from tests.badinput.case import Case
from tests.badinput.corpus import PEAK_LIMIT_BYTES


def _refuse_constant(token: str):
    raise ValueError(f"{token} is not JSON")


def strict_json(text: str):
    """Parse ``text`` as JSON that other tools can read: NaN and Infinity are refused."""
    return json.loads(text, parse_constant=_refuse_constant)


def check_cli_outcome(case: Case, outcome: dict) -> None:
    where = f"{case.name}: mmstudio {' '.join(outcome['args'])}"
    assert outcome["exception"] is None, f"{where}\nescaped:\n{outcome['exception']}"
    assert "Traceback" not in outcome["stderr"], f"{where}\n{outcome['stderr']}"
    assert outcome["peak_bytes"] <= PEAK_LIMIT_BYTES, (
        f"{where}: peak memory {outcome['peak_bytes'] / 2**30:.2f} GB"
    )
    if case.expect == "error":
        assert outcome["status"] not in (0, None), f"{where}: exit 0 for bad input"
        message = outcome["stderr"].strip()
        assert message, f"{where}: no message on stderr"
        assert case.names.lower() in message.lower(), (
            f"{where}: message lacks {case.names!r}:\n{message}"
        )
        return
    assert outcome["status"] == 0, f"{where}: exit {outcome['status']}\n{outcome['stderr']}"
    if "--json" not in outcome["args"]:
        return
    analysis = strict_json(outcome["stdout"])
    if case.expect == "noted":
        notes = analysis.get("notes", [])
        assert any(case.names.lower() in note.lower() for note in notes), (
            f"{where}: no note with {case.names!r}: {notes}"
        )
