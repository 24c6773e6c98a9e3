"""The bad-input corpus through the command line.

All cases run in one worker process (torch imported once) that calls ``mmstudio.cli.main`` for
each and records its exit status, output, escaped exceptions and peak memory; each case is then
one test here. A few representatives also run as real ``python -m mmstudio`` processes, whose
exit codes, stderr and peak memory (from wait4) are what a user's shell sees.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.badinput.checks import check_cli_outcome, strict_json
from tests.badinput.corpus import PEAK_LIMIT_BYTES, load_cases
from tests.badinput.worker import ROOT, run_cases
from tests.conftest import checkout_environment

CASES = load_cases()
WORKER_TIMEOUT_S = 1800
# The first case's test waits for the whole worker run.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(WORKER_TIMEOUT_S + 60)]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, dict]:
    work = tmp_path_factory.mktemp("corpus")
    worker, found = run_cases(work, [case.name for case in CASES], WORKER_TIMEOUT_S)
    # A worker that died takes the unfinished cases with it; they fail with its stderr.
    for case in CASES:
        found.setdefault(case.name, {"died": worker.stderr[-4000:], "status": worker.returncode})
    return found


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case_through_the_command_line(case, outcomes):
    outcome = outcomes[case.name]
    assert "died" not in outcome, f"the worker died (exit {outcome['status']}):\n{outcome['died']}"
    check_cli_outcome(case, outcome)


def test_the_corpus_is_large_and_covers_every_class():
    classes = {case.klass for case in CASES}
    assert {"decoding", "garbage", "cli"} <= classes
    assert len([c for c in CASES if c.klass in ("decoding", "garbage", "cli")]) >= 100
    assert {case.expect for case in CASES} == {"error", "accepted", "noted"}
    assert all(case.names for case in CASES if case.expect != "accepted")


def _representatives() -> list:
    """The first error and the first accepted case of each class: enough real processes to
    check exit codes and stderr end to end, without one interpreter start per case."""
    chosen, seen = [], set()
    for case in CASES:
        key = (case.klass, case.expect == "error")
        if key not in seen:
            seen.add(key)
            chosen.append(case)
    return chosen


def _run_process(args: list[str], cwd: Path) -> tuple[int, str, str, int]:
    """Run ``python -m mmstudio ARGS``; return exit status, stdout, stderr and peak RSS bytes."""
    with (cwd / "stdout").open("w+") as out, (cwd / "stderr").open("w+") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "mmstudio", *args],
            cwd=ROOT,
            env=checkout_environment(),
            stdout=out,
            stderr=err,
        )
        _, wait_status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(wait_status)
        out.seek(0)
        err.seek(0)
        return process.returncode, out.read(), err.read(), usage.ru_maxrss * 1024


@pytest.mark.parametrize("case", _representatives(), ids=lambda case: case.name)
def test_representative_case_as_a_real_process(case, tmp_path):
    args = case.build(tmp_path)
    status, stdout, stderr, peak = _run_process(args, tmp_path)
    outcome = {
        "args": args,
        "status": status,
        "stdout": stdout,
        "stderr": stderr,
        "exception": None,
        "peak_bytes": peak,
    }
    check_cli_outcome(case, outcome)


def _predict(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "mmstudio", "predict", *arguments]


def test_predict_into_a_closed_pipe_exits_quietly(tmp_path):
    """`mmstudio predict ... | head -c 100`: the reader leaves after 100 bytes of a large JSON."""
    from tests.badinput import files

    image = files.save_picture(tmp_path / "photo.png", files.noisy_photo((800, 800)))
    command = _predict("--image", str(image), "--json", "--full-heatmaps")
    writer = subprocess.Popen(
        command,
        cwd=ROOT,
        env=checkout_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    head = writer.stdout.read(100)
    writer.stdout.close()  # what `head` does once it has its bytes
    stderr = writer.stderr.read().decode()
    status = writer.wait(timeout=120)
    assert len(head) == 100
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert status == 141


def test_json_heatmap_is_bounded_unless_asked(tmp_path):
    from tests.badinput import files

    image = files.save_picture(tmp_path / "photo.jpg", files.noisy_photo((3000, 2000)), quality=80)
    default = subprocess.run(
        _predict("--image", str(image), "--json"),
        cwd=ROOT,
        env=checkout_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    full = subprocess.run(
        _predict("--image", str(image), "--json", "--full-heatmaps"),
        cwd=ROOT,
        env=checkout_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    small, large = (
        strict_json(default.stdout)["image_heatmap"],
        strict_json(full.stdout)["image_heatmap"],
    )
    assert (len(small), len(small[0])) == (171, 256)  # 2048 x 1365 as loaded, shrunk to 256 wide
    assert (len(large), len(large[0])) == (1365, 2048)
    assert len(default.stdout) < len(full.stdout) / 20
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 <= PEAK_LIMIT_BYTES
