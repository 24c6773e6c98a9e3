"""The input widgets on their own: image drop zone, debounced text, and the audio card.

Recording goes through the real microphone path: PortAudio records a PulseAudio null sink's
monitor while the test plays into the sink (tests/gui/virtual_microphone.py). Only the states
a real sound system cannot be put in here (no PortAudio library, no input device at all) are
made with stand-ins, and those tests say so.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile
from PySide6.QtCore import QMimeData

from mmstudio.gui.inputs import microphone
from mmstudio.gui.inputs.audio_input import AudioInput
from mmstudio.gui.inputs.image_input import ImageInput
from mmstudio.gui.inputs.text_input import DEBOUNCE_MS, TextInput
from tests.gui.helpers import drop, file_mime, tone
from tests.gui.virtual_microphone import dominant_frequency, play_into

pytestmark = pytest.mark.gui
REAL_PROBE = microphone.probe


@pytest.fixture
def tone_file(tmp_path):
    """Three seconds of a 500 Hz tone: longer than any take below, so it sounds throughout."""
    path = tmp_path / "tone.wav"
    soundfile.write(path, tone(3.0, 500.0), 16000, subtype="PCM_16")
    return path


@pytest.fixture
def playing(virtual_microphone):
    """``start(wav)`` plays into the virtual microphone; whatever still plays is stopped after."""
    players = []

    def start(wav):
        players.append(play_into(virtual_microphone, wav))
        return players[-1]

    yield start
    for player in players:
        player.kill()
        player.wait(10)


@pytest.fixture
def audio_input(qtbot):
    widget = AudioInput()
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


# Image


def test_image_input_takes_a_dropped_file_and_shows_it(qtbot, input_files):
    widget = ImageInput()
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.image_changed):
        drop(widget.drop_zone, file_mime(input_files.image))
    assert widget.image.size == (96, 120)
    assert not widget.drop_zone.pixmap().isNull()
    assert widget.clear_button.isEnabled()
    with qtbot.waitSignal(widget.image_changed):
        widget.clear()
    assert widget.image is None and widget.drop_zone.text().startswith("Drop an image")


def test_image_input_reports_a_drop_without_an_image(qtbot):
    widget = ImageInput()
    qtbot.addWidget(widget)
    errors = []
    widget.error_occurred.connect(errors.append)
    mime = QMimeData()
    mime.setText("just words")
    assert not widget.load_mime(mime)
    assert errors and "no image" in errors[0]


def test_a_newer_load_wins_over_an_older_one_still_decoding(qtbot, input_files, monkeypatch):
    """The first file's decode is held until the second has been shown; its late result and
    its late error are both dropped, so the input shows the last file the user gave it."""
    import mmstudio.gui.inputs.image_input as image_input

    release = threading.Event()
    decoded_on = []
    real_load = image_input.load_image

    def load_image(source, **kwargs):
        decoded_on.append(threading.current_thread())
        if source == input_files.other_image:
            release.wait(10)
        return real_load(source, **kwargs)

    monkeypatch.setattr(image_input, "load_image", load_image)
    widget = ImageInput()
    qtbot.addWidget(widget)
    changes, errors, busy = [], [], []
    widget.image_changed.connect(changes.append)
    widget.error_occurred.connect(errors.append)
    widget.loading_changed.connect(busy.append)
    widget.load_path(input_files.other_image)
    assert widget.loading
    with qtbot.waitSignal(widget.image_changed, timeout=10000):
        widget.load_path(input_files.image)
    release.set()
    widget.load_path(input_files.corrupt_image)
    widget.load_path(input_files.image)
    qtbot.waitUntil(lambda: len(changes) == 2 and not widget.loading, timeout=10000)
    qtbot.wait(100)  # any late outcome of the held or the broken load would arrive now
    assert widget.source_name == "seven.png" and len(changes) == 2 and errors == []
    assert busy == [True, False, True, False]
    assert threading.main_thread() not in decoded_on


def test_a_failed_background_load_reports_the_file_and_keeps_the_image(qtbot, input_files):
    widget = ImageInput()
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.image_changed):
        widget.load_path(input_files.image)
    with qtbot.waitSignal(widget.error_occurred) as blocker:
        widget.load_path(input_files.corrupt_image)
    assert "broken.png" in blocker.args[0]
    assert widget.source_name == "seven.png" and not widget.loading


# Text


def test_text_input_debounces_bursts_into_one_signal(qtbot):
    """Each burst of keys (five edits, no event loop between them) becomes one signal with the
    whole text, sent after the burst; none is left pending after it."""
    widget = TextInput()
    qtbot.addWidget(widget)
    received = []
    widget.text_changed.connect(received.append)
    qtbot.keyClicks(widget.editor, "three")
    assert received == [] and widget.is_pending()
    with qtbot.waitSignal(widget.text_changed, timeout=5000):
        pass
    assert received == ["three"] and not widget.is_pending()
    qtbot.keyClicks(widget.editor, " four")
    assert received == ["three"] and widget.is_pending()
    with qtbot.waitSignal(widget.text_changed, timeout=5000):
        pass
    qtbot.wait(DEBOUNCE_MS * 2)  # a second firing of either burst's timer would arrive now
    assert received == ["three", "three four"] and not widget.is_pending()


def test_text_input_flush_sends_at_once(qtbot):
    widget = TextInput()
    qtbot.addWidget(widget)
    received = []
    widget.text_changed.connect(received.append)
    qtbot.keyClicks(widget.editor, "two")
    widget.flush()
    assert received == ["two"]
    assert not widget.is_pending()


# Audio


def test_audio_file_is_loaded_drawn_and_saved(qtbot, audio_input, input_files, tmp_path):
    with qtbot.waitSignal(audio_input.clip_changed):
        drop(audio_input, file_mime(input_files.audio))
    assert audio_input.clip.duration == pytest.approx(1.0)
    x, y = audio_input.curve.getData()
    assert len(x) > 100 and float(np.max(y)) > 0.3
    target = audio_input.save(tmp_path / "copy")
    assert target
    samples, rate = soundfile.read(tmp_path / "copy.wav")
    assert rate == 16000 and len(samples) == 16000
    with qtbot.waitSignal(audio_input.clip_changed):
        audio_input.clear()
    assert audio_input.clip is None and not audio_input.save_button.isEnabled()


def test_record_is_disabled_with_the_install_hint_without_portaudio(
    qtbot, audio_input, monkeypatch
):
    import builtins

    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    audio_input.refresh_microphones()
    assert not audio_input.record_button.isEnabled()
    assert (
        "Install PortAudio (Debian/Ubuntu: sudo apt install libportaudio2)"
        in audio_input.record_button.toolTip()
    )
    assert "Install PortAudio" in audio_input.status.text()
    # Opening files still works without a microphone.
    assert audio_input.open_button.isEnabled()


def test_record_is_disabled_when_there_is_no_input_device(qtbot, audio_input, monkeypatch):
    """A stand-in for sounddevice: a machine whose sound system has no input device at all
    cannot be made here (PulseAudio always offers its default source)."""

    class NoInputDevice:
        class PortAudioError(Exception):
            pass

        def query_devices(self, device=None, kind=None):
            raise self.PortAudioError("Error querying device -1")

    monkeypatch.setattr("mmstudio.gui.inputs.microphone.load_sounddevice", NoInputDevice)
    audio_input.refresh_microphones()
    assert not audio_input.record_button.isEnabled()
    assert audio_input.record_button.toolTip() == microphone.NO_DEVICE


@pytest.mark.system
def test_recording_keeps_the_take_until_cleared(
    qtbot, audio_input, virtual_microphone, playing, tone_file
):
    audio_input.refresh_microphones()
    assert audio_input.record_button.isEnabled(), audio_input.record_button.toolTip()
    recording = []
    audio_input.recording_changed.connect(recording.append)
    assert audio_input.start_recording()
    assert audio_input.record_button.text() == "■ Stop"
    player = playing(tone_file)
    # The meter and the scrolling waveform follow what the microphone hears.
    qtbot.waitUntil(lambda: audio_input.meter.level_db > -20, timeout=10_000)
    qtbot.waitUntil(lambda: float(np.max(audio_input.curve.getData()[1])) > 0.2, timeout=10_000)
    qtbot.waitUntil(lambda: audio_input.recorder.seconds > 0.6, timeout=10_000)
    assert player.poll() is None, "the tone ended before the take did"
    with qtbot.waitSignal(audio_input.clip_changed):
        clip = audio_input.stop_recording()
    assert recording == [True, False]
    assert clip is not None and clip.duration > 0.6
    # What was recorded is the tone that was played, at its pitch.
    loud = clip.samples[np.abs(clip.samples) > 0.1]
    assert len(loud) > 0.1 * clip.sample_rate
    assert abs(dominant_frequency(clip.samples, clip.sample_rate) - 500.0) < 10
    assert audio_input.source_name.startswith("recording")
    assert audio_input.save_button.isEnabled() and audio_input.play_button.isEnabled()
    audio_input.refresh_microphones()  # other events come and go: the take stays
    assert audio_input.clip is clip  # kept until cleared
    audio_input.clear()
    assert audio_input.clip is None


@pytest.mark.system
def test_a_silent_recording_is_refused_with_a_reason(qtbot, audio_input, virtual_microphone):
    """Nothing plays into the virtual microphone: the take is digital silence."""
    audio_input.refresh_microphones()
    errors = []
    audio_input.error_occurred.connect(errors.append)
    assert audio_input.start_recording()
    qtbot.waitUntil(lambda: audio_input.recorder.seconds > 0.3, timeout=10_000)
    assert audio_input.stop_recording() is None
    assert errors and "silent" in errors[0]
    assert audio_input.clip is None


@pytest.mark.system
def test_a_recording_reaches_the_model(
    qtbot, window, virtual_microphone, playing, tone_file, monkeypatch
):
    monkeypatch.setattr(
        "mmstudio.gui.inputs.microphone.probe", REAL_PROBE
    )  # the window fixture stubbed it
    window.inputs.audio_input.refresh_microphones()
    assert window.file_actions.record.isEnabled()
    window.file_actions.record.trigger()
    assert window.inputs.audio_input.recorder.recording
    assert window.file_actions.record.text() == "Stop &Recording"
    playing(tone_file)
    qtbot.waitUntil(lambda: window.inputs.audio_input.meter.level_db > -20, timeout=10_000)
    qtbot.waitUntil(lambda: window.inputs.audio_input.recorder.seconds > 0.5, timeout=10_000)
    with qtbot.waitSignal(window.analysis_shown, timeout=30_000):
        window.file_actions.record.trigger()
    assert window.results.analysis.present == ["audio"]
    assert window.results.audio_map.has_map()
    assert window.file_actions.save_recording.isEnabled()
    assert float(np.max(np.abs(window.inputs.audio_input.clip.samples))) > 0.2
