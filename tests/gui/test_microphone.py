"""The real microphone path: PortAudio records from a PulseAudio virtual microphone.

A null sink's monitor becomes the default source (tests/gui/virtual_microphone.py), espeak-ng's
"seven" is played into the sink, and the app records it through sounddevice exactly as it would
a USB microphone: the test presses Record, plays the word, presses Stop, and the (trained)
default model hears a 7.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PySide6.QtCore import Qt

from mmstudio.resources import default_model_dir
from tests.conftest import require_or_skip
from tests.gui.virtual_microphone import spoken

pytestmark = [pytest.mark.gui, pytest.mark.system, pytest.mark.slow]

TRAINED = default_model_dir() / "model.safetensors"


@pytest.fixture
def spoken_seven(tmp_path):
    return spoken("seven", tmp_path)


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
