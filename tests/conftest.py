"""Shared fixtures, and the one place a test may skip.

Tests that need a system component or an optional package skip with a reason on a bare
machine, and fail instead when MMSTUDIO_REQUIRE_ALL=1 (CI sets it). Every skip goes through
the helpers here: `require_or_skip`, `require_module`, the `needs(...)` marker, and
`requires_gpu`, the one skip CI accepts (on a machine without CUDA). At the end of the run the
skipped tests are listed with their reasons, and under MMSTUDIO_REQUIRE_ALL=1 the run fails if
any skip other than a GPU-only one on a machine without CUDA got through.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import time
from pathlib import Path
from types import ModuleType

import pytest

# The tiny Hugging Face model folders, for tests anywhere under tests/.
from tests.generative.fixtures import hub_offline, tiny_model, tiny_model_folders  # noqa: F401

GPU_REASON = "needs a CUDA GPU"


def require_all() -> bool:
    """Read at each call, so a run can be tested with and without the variable."""
    return os.environ.get("MMSTUDIO_REQUIRE_ALL") == "1"


def require_or_skip(available: bool, reason: str) -> None:
    """Skip when a system component is missing, unless CI demands everything.

    Works inside a test or fixture and at module level (a whole module that needs it)."""
    if available:
        return
    if require_all():
        pytest.fail(f"required component missing (MMSTUDIO_REQUIRE_ALL=1): {reason}", False)
    pytest.skip(reason, allow_module_level=True)


def require_module(name: str, reason: str | None = None) -> ModuleType:
    """`pytest.importorskip` that respects MMSTUDIO_REQUIRE_ALL: the module, or a skip (a
    failure in CI) saying which package is missing and why."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        problem = reason or f"{name} cannot be imported ({error})"
    require_or_skip(False, problem)  # out of the except block: the report is the reason alone
    raise AssertionError("not reached: require_or_skip skipped or failed")


def needs(available: bool, reason: str) -> pytest.MarkDecorator:
    """A decorator for a test that needs something: ``@needs(HAS_MP3, "...")``.

    Checked when the test sets up, through require_or_skip."""
    return pytest.mark.needs(bool(available), reason)


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def requires_gpu(test):
    """Marks a test that only a CUDA GPU can run. It skips with GPU_REASON on a machine
    without one, even under MMSTUDIO_REQUIRE_ALL=1: the one skip CI accepts."""
    return pytest.mark.requires_gpu(test)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(available, reason): see tests/conftest.py")
    config.addinivalue_line("markers", f"requires_gpu: {GPU_REASON}; skipped without one")
    config.addinivalue_line(
        "markers", "reference(library): checks mmstudio's answer against another library's"
    )
    config.pluginmanager.register(SkipGate(), "mmstudio-skip-gate")
    config.pluginmanager.register(ReferenceChecks(), "mmstudio-reference-checks")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("requires_gpu") is not None and not cuda_available():
        pytest.skip(GPU_REASON)
    for mark in item.iter_markers("needs"):
        require_or_skip(*mark.args)


def forbidden_skips(skips: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The skips CI must not have: all but GPU-only ones on a machine without CUDA."""
    gpu_excused = not any(reason == GPU_REASON for _, reason in skips) or not cuda_available()
    return [(node, reason) for node, reason in skips if not (reason == GPU_REASON and gpu_excused)]


class SkipGate:
    """Lists every skipped test and collection at the end of the run, and under
    MMSTUDIO_REQUIRE_ALL=1 fails the session if one got past the helpers above (a plugin's
    skip, a bare pytest.skip) other than a GPU-only test on a machine without CUDA."""

    def __init__(self) -> None:
        self.skips: list[tuple[str, str]] = []

    def _record(self, report) -> None:
        if not report.skipped:
            return
        longrepr = report.longrepr
        reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
        self.skips.append((report.nodeid, reason.removeprefix("Skipped: ")))

    def pytest_runtest_logreport(self, report) -> None:
        self._record(report)

    def pytest_collectreport(self, report) -> None:
        self._record(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if require_all() and forbidden_skips(self.skips):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.section("skipped tests")
        terminalreporter.write_line("skipped tests:")
        if not self.skips:
            terminalreporter.write_line("  none")
        for node, reason in self.skips:
            terminalreporter.write_line(f"  {node}: {reason}")
        forbidden = forbidden_skips(self.skips) if require_all() else []
        if forbidden:
            terminalreporter.write_line(
                f"MMSTUDIO_REQUIRE_ALL=1: {len(forbidden)} skip(s) CI must not have (only "
                f"'{GPU_REASON}' on a machine without one is allowed): the run fails.",
                red=True,
            )


class ReferenceChecks:
    """Lists, at the end of the run, each cross-check against another library (Captum,
    shapiq) with its outcome, so a CI log shows they ran rather than leaving it to be inferred
    from a count."""

    def __init__(self) -> None:
        self.outcomes: dict[str, tuple[str, str]] = {}

    def pytest_runtest_logreport(self, report) -> None:
        library = getattr(report, "reference_library", None)
        if library and (report.when == "call" or report.outcome != "passed"):
            self.outcomes[report.nodeid] = (library, report.outcome)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        mark = item.get_closest_marker("reference")
        if mark is not None:
            outcome.get_result().reference_library = mark.args[0]

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.outcomes:
            return
        terminalreporter.section("reference checks")
        for node, (library, outcome) in sorted(self.outcomes.items()):
            terminalreporter.write_line(f"  {library}: {outcome} {node}")


def checkout_environment() -> dict[str, str]:
    """The environment for a child ``python`` process that runs this checkout's mmstudio (it
    first on the path) with Qt offscreen unless the caller's environment says otherwise."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


XVFB_SCREEN = (1920, 1080)  # room for the 1900-px side-by-side screenshot


@pytest.fixture(scope="module")
def display():
    """A private Xvfb server for the tests of one module: its DISPLAY value, e.g. ":91"."""
    require_or_skip(shutil.which("Xvfb") is not None, "Xvfb is not installed (apt install xvfb)")
    number = next(
        n
        for n in range(91, 200)
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists()
    )
    server = subprocess.Popen(
        [
            "Xvfb",
            f":{number}",
            "-screen",
            "0",
            f"{XVFB_SCREEN[0]}x{XVFB_SCREEN[1]}x24",
            "-nolisten",
            "tcp",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 15
    while not socket.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    require_or_skip(socket.exists(), f"Xvfb did not start on :{number}")
    yield f":{number}"
    server.terminate()
    server.wait(10)
