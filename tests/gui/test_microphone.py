"""The real microphone path: PortAudio records from a PulseAudio virtual microphone.

A null sink's monitor becomes the default source, espeak-ng's "seven" is played into the sink,
and the app records it through sounddevice exactly as it would a USB microphone: the test
presses Record, plays the word, presses Stop, and the (trained) default model hears a 7.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from mmstudio.resources import default_model_dir
from tests.conftest import require_or_skip

pytestmark = [pytest.mark.gui, pytest.mark.system, pytest.mark.slow]

SINK = "mmstudio_test_mic"
TRAINED = default_model_dir() / "model.safetensors"


def _pactl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=30, check=check)


def _server_up() -> bool:
    return _pactl("info", check=False).returncode == 0


@pytest.fixture(scope="module")
def virtual_microphone():
    missing = [
        tool
        for tool in ("pulseaudio", "pactl", "paplay", "espeak-ng")
        if shutil.which(tool) is None
    ]
    require_or_skip(
        not missing,
        f"the virtual microphone needs {', '.join(missing)} "
        "(apt install pulseaudio pulseaudio-utils espeak-ng)",
    )
    from mmstudio.gui.inputs import microphone

    portaudio = microphone.probe()
    require_or_skip(portaudio is None or "PortAudio" not in portaudio, portaudio or "")
    if not _server_up():
        # As root PulseAudio warns that system mode is meant for that, and runs anyway.
        subprocess.run(
            ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1"],
            capture_output=True,
            timeout=30,
        )
        deadline = time.monotonic() + 10
        while not _server_up() and time.monotonic() < deadline:
            time.sleep(0.1)
    require_or_skip(_server_up(), "PulseAudio did not start")
    previous = _pactl("get-default-source", check=False).stdout.strip()
    module = _pactl("load-module", "module-null-sink", f"sink_name={SINK}").stdout.strip()
    _pactl("set-default-source", f"{SINK}.monitor")
    try:
        # PortAudio saw the devices as they were when it started; the source is new.
        require_or_skip(
            microphone.probe(refresh=True) is None, "PortAudio sees no input through PulseAudio"
        )
        yield SINK
    finally:
        if previous:
            _pactl("set-default-source", previous, check=False)
        _pactl("unload-module", module, check=False)


@pytest.fixture
def spoken_seven(tmp_path):
    path = tmp_path / "seven.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(path), "seven"], check=True, capture_output=True, timeout=60
    )
    return path


def test_record_a_spoken_seven_from_the_virtual_microphone(
    qtbot, virtual_microphone, spoken_seven, tiny_model_dir
):
    from mmstudio.gui.shell.main_window import MainWindow

    trained = TRAINED.is_file()
    window = MainWindow(model=None if trained else str(tiny_model_dir), device="cpu")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.model_ready, timeout=180_000):
        window.show()
    audio = window.inputs.audio_input
    qtbot.waitUntil(lambda: audio.microphone_problem is None, timeout=10_000)
    assert audio.record_button.isEnabled(), audio.record_button.toolTip()

    qtbot.mouseClick(audio.record_button, Qt.MouseButton.LeftButton)
    assert audio.recorder.recording
    qtbot.waitUntil(lambda: audio.recorder.seconds > 0.3, timeout=10_000)
    subprocess.run(
        ["paplay", f"--device={virtual_microphone}", str(spoken_seven)], check=True, timeout=60
    )
    qtbot.wait(300)
    with qtbot.waitSignal(window.analysis_shown, timeout=60_000):
        qtbot.mouseClick(audio.record_button, Qt.MouseButton.LeftButton)

    clip = audio.clip
    assert clip is not None and audio.source_name.startswith("recording")
    assert float(np.max(np.abs(clip.samples))) > 0.05, "the recording did not hear the spoken word"
    analysis = window.results.analysis
    assert analysis.present == ["audio"]
    assert window.results.audio_map.has_map()
    require_or_skip(
        trained,
        f"the trained default model is not there yet ({TRAINED} is missing): "
        "the recording reached a random model, so what it heard was not checked",
    )
    assert analysis.predicted_label == "7", analysis.top_k(3)
