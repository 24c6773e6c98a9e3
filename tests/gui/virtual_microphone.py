"""A real microphone for the tests: PulseAudio's null sink, whose monitor the app records.

What is played into the sink (paplay), PortAudio hears from this process's default source,
exactly as it would a USB microphone. The sink is made this process's default through
PULSE_SOURCE (read by libpulse when a stream opens) rather than `pactl set-default-source`, so
tests of other processes that share the daemon can neither hear our sound nor move our stream.

PortAudio lists devices once, when it initialises, which is process-wide: a sound server started
after sounddevice was first imported is invisible until ``refresh_devices()``. The fixture calls
it while no stream is open, so the recording tests, the microphone test and live mode's tests
all find the source whichever of them runs first in a process.

The fixtures are made available to tests/gui by tests/gui/conftest.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_or_skip

VIRTUAL_SINK = "mmstudio_test_mic"
TOOLS = ("pulseaudio", "pactl", "paplay", "espeak-ng")


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=check)


def server_up() -> bool:
    return run("pactl", "info", check=False).returncode == 0


@pytest.fixture(scope="session")
def pulseaudio():
    """A running PulseAudio daemon (started here if none is), and PortAudio to reach it."""
    from mmstudio.audio import MicrophoneError, load_sounddevice

    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    require_or_skip(
        not missing,
        f"the virtual microphone needs {', '.join(missing)} "
        "(apt install pulseaudio pulseaudio-utils espeak-ng)",
    )
    try:
        load_sounddevice()
    except MicrophoneError as error:
        require_or_skip(False, str(error))
    if not server_up():
        # --exit-idle-time=-1: the daemon must outlive the gaps between tests. As root PulseAudio
        # warns that system mode is meant for that, and runs anyway.
        run("pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", check=False)
        for _ in range(100):  # a bounded wait for the socket, not a timing assertion
            if server_up():
                break
            time.sleep(0.1)
    require_or_skip(server_up(), "PulseAudio did not start")


@pytest.fixture(scope="session")
def _process_sink(pulseaudio):
    """A null sink of this process's own: test runs in parallel share the daemon, and must not
    hear each other's sounds."""
    sink = f"{VIRTUAL_SINK}_{os.getpid()}"
    module = run("pactl", "load-module", "module-null-sink", f"sink_name={sink}").stdout.strip()
    yield sink
    run("pactl", "unload-module", module, check=False)


@pytest.fixture
def virtual_microphone(_process_sink, monkeypatch) -> str:
    """The null sink's name; its monitor is this process's default microphone for the test."""
    from mmstudio.audio import load_sounddevice, refresh_devices

    monkeypatch.setenv("PULSE_SOURCE", f"{_process_sink}.monitor")
    # PortAudio may have listed its devices before PulseAudio ran: list them again.
    refresh_devices()
    sd = load_sounddevice()
    try:
        problem = None if sd.query_devices(kind="input") else "no default input"
    except (sd.PortAudioError, ValueError) as error:
        problem = str(error)
    require_or_skip(problem is None, f"PortAudio sees no input through PulseAudio: {problem}")
    return _process_sink


def play_into(sink: str, wav: Path) -> subprocess.Popen:
    """Start playing ``wav`` into ``sink``; the caller waits for it (or stops it)."""
    return subprocess.Popen(
        ["paplay", f"--device={sink}", str(wav)], stderr=subprocess.PIPE, text=True
    )


def spoken(text: str, folder: Path) -> Path:
    wav = folder / f"{text.replace(' ', '_')}.wav"
    run("espeak-ng", "-w", str(wav), text)
    return wav


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])
