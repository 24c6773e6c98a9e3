"""The CI gate itself (tests/conftest.py): every skip is listed at the end of the run, and with
MMSTUDIO_REQUIRE_ALL=1 a skip CI must not have fails the run, while a GPU-only test on a
machine without CUDA may skip. Each case runs pytest in a subprocess on a generated file, with
tests/conftest.py loaded as a plugin, exactly as the suite loads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import GPU_REASON, cuda_available

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
# Read here, at collection: pytester drops modules imported during a test, and torch cannot be
# imported twice in one process.
CUDA = cuda_available()

CASES = """
import pytest
from tests.conftest import needs, require_module, require_or_skip, requires_gpu

def test_runs():
    assert True

@requires_gpu
def test_on_a_gpu():
    assert True

def test_missing_tool():
    require_or_skip(False, "frobnicator is not installed")

def test_missing_module():
    require_module("no_such_module_4711")

@needs(False, "a marker's reason")
def test_marked():
    pass

def test_bare_skip():
    pytest.skip("a bare skip that went around the helpers")
"""


def run(pytester: pytest.Pytester, monkeypatch, require_all: bool, select: str):
    pytester.makepyfile(test_cases=CASES)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    if require_all:
        monkeypatch.setenv("MMSTUDIO_REQUIRE_ALL", "1")
    else:
        monkeypatch.delenv("MMSTUDIO_REQUIRE_ALL", raising=False)
    return pytester.runpytest_subprocess(
        "-p", "tests.conftest", "-p", "no:cacheprovider", "-k", select
    )


def listed_skips(result) -> dict[str, str]:
    lines = result.stdout.lines
    listed = lines[lines.index("skipped tests:") + 1 :]
    return dict(line.strip().split(": ", 1) for line in listed if line.startswith("  test_"))


def test_without_the_variable_every_skip_is_listed_with_its_reason(pytester, monkeypatch):
    result = run(pytester, monkeypatch, False, "not runs")
    assert result.ret == pytest.ExitCode.OK
    skips = listed_skips(result)
    assert skips.pop("test_cases.py::test_missing_module").startswith(
        "no_such_module_4711 cannot be imported"
    )
    expected = {
        "test_cases.py::test_missing_tool": "frobnicator is not installed",
        "test_cases.py::test_marked": "a marker's reason",
        "test_cases.py::test_bare_skip": "a bare skip that went around the helpers",
    }
    if not CUDA:
        expected["test_cases.py::test_on_a_gpu"] = GPU_REASON
    assert skips == expected
    result.assert_outcomes(passed=int(CUDA), skipped=5 - int(CUDA))


def test_a_run_without_skips_says_none(pytester, monkeypatch):
    result = run(pytester, monkeypatch, True, "runs")
    assert result.ret == pytest.ExitCode.OK
    lines = result.stdout.lines
    assert lines[lines.index("skipped tests:") + 1].strip() == "none"


def test_under_require_all_a_skip_ci_must_not_have_fails_the_run(pytester, monkeypatch):
    result = run(pytester, monkeypatch, True, "not on_a_gpu")
    # Through the helpers, the skip becomes the test's failure (the marker's, in its set-up).
    result.assert_outcomes(passed=1, failed=2, errors=1, skipped=1)
    missing = "required component missing (MMSTUDIO_REQUIRE_ALL=1)"
    result.stdout.fnmatch_lines(
        [
            f"{missing}: a marker's reason",
            f"{missing}: frobnicator is not installed",
            f"{missing}: no_such_module_4711 cannot be imported*",
        ],
        consecutive=False,
    )
    # Around them, no test fails, yet the run does.
    assert listed_skips(result) == {
        "test_cases.py::test_bare_skip": "a bare skip that went around the helpers"
    }
    result.stdout.fnmatch_lines(
        ["MMSTUDIO_REQUIRE_ALL=1: 1 skip(s) CI must not have*the run fails."]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_the_bare_skip_alone_fails_the_run_under_require_all(pytester, monkeypatch):
    result = run(pytester, monkeypatch, True, "bare_skip or runs")
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_under_require_all_a_gpu_test_on_a_machine_without_cuda_may_skip(pytester, monkeypatch):
    result = run(pytester, monkeypatch, True, "on_a_gpu or runs")
    assert result.ret == pytest.ExitCode.OK
    if CUDA:
        result.assert_outcomes(passed=2)  # with a GPU, the GPU test runs
    else:
        result.assert_outcomes(passed=1, skipped=1)
        assert listed_skips(result) == {"test_cases.py::test_on_a_gpu": GPU_REASON}
        result.stdout.no_fnmatch_line("*skip(s) CI must not have*")
