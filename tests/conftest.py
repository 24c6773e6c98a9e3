"""Shared fixtures. Tests that need a system component skip with a reason on a bare
machine, and fail instead when MMSTUDIO_REQUIRE_ALL=1 (CI sets it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REQUIRE_ALL = os.environ.get("MMSTUDIO_REQUIRE_ALL") == "1"


def require_or_skip(available: bool, reason: str) -> None:
    """Skip when a system component is missing, unless CI demands everything."""
    if available:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required component missing (MMSTUDIO_REQUIRE_ALL=1): {reason}")
    pytest.skip(reason)


XVFB_SCREEN = (1600, 1000)


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
