"""The "models" and "training" corpus cases, run in-process through ``mmstudio.cli.main``.

The corpus runner runs every class through a real subprocess and real drops; this quicker run
covers the two classes here, sharing one interpreter (and one built checkpoint) between cases.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from tests.badinput import cases_models, cases_training
from tests.badinput.case import Case

CASES: list[Case] = cases_models.CASES + cases_training.CASES


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _run(args: list[str]) -> tuple[int, str, str]:
    from mmstudio.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(args)
        except SystemExit as exit_:  # argparse refusing an option
            status = exit_.code if isinstance(exit_.code, int) else 1
    return status, out.getvalue(), err.getvalue()


def test_the_corpus_is_big_enough_and_well_formed():
    names = [case.name for case in CASES]
    assert len(CASES) >= 60 and len(set(names)) == len(names)
    assert {case.klass for case in cases_models.CASES} == {"models"}
    assert {case.klass for case in cases_training.CASES} == {"training"}
    assert all(case.names for case in CASES if case.expect != "accepted")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(case: Case, tmp_path):
    status, out, err = _run(case.build(tmp_path))
    assert "Traceback" not in out + err
    if case.expect == "error":
        assert status != 0, out
        message = err.strip().splitlines()
        assert message and case.names.lower() in err.lower(), err
        assert message[-1].startswith("mmstudio"), err  # ours, or argparse's "mmstudio train:"
    else:
        assert status == 0, err
        analysis = json.loads(out, parse_constant=_refuse_constant)
        assert analysis["predicted_label"] in analysis["labels"]
        if case.expect == "noted":
            assert any(case.names.lower() in note.lower() for note in analysis["notes"])
