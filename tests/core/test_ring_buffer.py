"""The microphone's ring buffer, sliding window and level gate, without Qt or a sound card."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mmstudio.audio import (
    FLOOR_DBFS,
    GatedWindow,
    LevelGate,
    MicrophoneError,
    MicrophoneStream,
    RingBuffer,
    load_sounddevice,
    peak_frame_dbfs,
    rms_dbfs,
)
from mmstudio.audio import microphone as microphone_module

ROOT = Path(__file__).resolve().parents[2]


def test_ring_buffer_returns_the_newest_samples_oldest_first():
    ring = RingBuffer(8)
    ring.write(np.arange(5))
    assert ring.latest(3).tolist() == [2, 3, 4]
    assert ring.latest(100).tolist() == [0, 1, 2, 3, 4]  # never more than was written
    assert len(ring) == 5 and ring.total_written == 5


def test_ring_buffer_wraps_around_and_keeps_the_last_capacity_samples():
    ring = RingBuffer(8)
    for start in range(0, 30, 3):  # blocks that straddle the end of the array
        ring.write(np.arange(start, start + 3))
    assert ring.latest(8).tolist() == list(range(22, 30))
    assert ring.latest(5).tolist() == list(range(25, 30))
    assert len(ring) == 8 and ring.total_written == 30


def test_ring_buffer_block_longer_than_capacity_keeps_its_tail():
    ring = RingBuffer(4)
    ring.write(np.arange(3))
    ring.write(np.arange(10, 20))
    assert ring.latest(4).tolist() == [16, 17, 18, 19]


def test_ring_buffer_latest_is_a_copy_and_dtype_is_preserved():
    ring = RingBuffer(4)
    ring.write(np.array([0.5, 0.25], dtype=np.float64))
    window = ring.latest(2)
    window[:] = 9
    assert ring.latest(2).tolist() == [0.5, 0.25]
    assert window.dtype == np.float32


def test_ring_buffer_clear_and_invalid_capacity():
    ring = RingBuffer(4)
    ring.write(np.ones(3))
    ring.clear()
    assert len(ring) == 0 and ring.latest(4).size == 0
    with pytest.raises(ValueError):
        RingBuffer(0)


def test_ring_buffer_concurrent_writer_never_tears_a_window():
    # Each block holds one repeated value that increases block by block, so any window read
    # while the writer runs must be non-decreasing and made of whole values.
    ring = RingBuffer(1000)
    stop = threading.Event()

    def writer():
        value = 0
        while not stop.is_set():
            ring.write(np.full(37, value, dtype=np.float32))
            value += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(2000):
            window = ring.latest(500)
            assert np.all(np.diff(window) >= 0)
    finally:
        stop.set()
        thread.join()


def test_levels_in_dbfs():
    assert rms_dbfs(np.ones(100)) == pytest.approx(0.0)
    assert rms_dbfs(np.full(100, 0.1)) == pytest.approx(-20.0)
    assert rms_dbfs(np.zeros(100)) == FLOOR_DBFS
    assert rms_dbfs(np.zeros(0)) == FLOOR_DBFS


def test_peak_frame_level_is_not_diluted_by_surrounding_silence():
    rate = 16000
    samples = np.zeros(int(1.5 * rate), dtype=np.float32)
    samples[8000:9600] = 0.1  # 100 ms at -20 dBFS in 1.5 s of silence
    assert rms_dbfs(samples) < -30
    assert peak_frame_dbfs(samples, rate) == pytest.approx(-20.0, abs=0.01)


def test_level_gate_hysteresis():
    gate = LevelGate(threshold_db=-40, hysteresis_db=6)
    levels = [-60, -41, -40, -44, -46, -47, -41, -39, -120]
    states = [gate.update(level) for level in levels]
    #          quiet  below  opens  held   held   closes below  opens  closes
    assert states == [False, False, True, True, True, False, False, True, False]
    gate.update(-10)
    gate.reset()
    assert gate.is_open is False
    with pytest.raises(ValueError):
        LevelGate(hysteresis_db=-1)


class _Source:
    """Stands in for a microphone: a fixed recording read like a ring buffer."""

    def __init__(self, samples: np.ndarray, sample_rate: int = 16000):
        self.ring = RingBuffer(len(samples) + 1)
        self.ring.write(samples)
        self.sample_rate = sample_rate

    def latest(self, count: int) -> np.ndarray:
        return self.ring.latest(count)


def test_gated_window_takes_the_newest_seconds_and_holds_quiet_audio_absent():
    rate = 16000
    quiet = np.random.default_rng(0).standard_normal(3 * rate).astype(np.float32) * 1e-4
    window = GatedWindow(_Source(quiet, rate), seconds=1.5).take()
    assert len(window.samples) == int(1.5 * rate)
    assert not window.voiced and window.clip() is None

    speech = quiet.copy()
    speech[-rate // 2 :] += 0.3 * np.sin(np.arange(rate // 2) * 0.2).astype(np.float32)
    window = GatedWindow(_Source(speech, rate), seconds=1.5).take()
    assert window.voiced
    clip = window.clip()
    assert clip is not None and clip.sample_rate == 16000 and len(clip.samples) == int(1.5 * rate)


def test_gated_window_resamples_other_device_rates():
    tone = (0.3 * np.sin(np.arange(48000) * 0.05)).astype(np.float32)
    clip = GatedWindow(_Source(tone, 48000), seconds=0.5).take().clip()
    assert clip.sample_rate == 16000 and len(clip.samples) == 8000


def test_missing_portaudio_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # makes `import sounddevice` fail
    with pytest.raises(MicrophoneError, match="sounddevice"):
        load_sounddevice()
    with pytest.raises(MicrophoneError):
        MicrophoneStream().start()


class _FakeStream:
    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.active = False

    def start(self):
        self.active = True

    def stop(self):
        self.active = False

    def close(self):
        pass


class _PortAudioError(Exception):
    pass


def _fake_sounddevice(opened: list) -> SimpleNamespace:
    def make_stream(**kwargs):
        opened.append(_FakeStream(**kwargs))
        return opened[-1]

    return SimpleNamespace(
        PortAudioError=_PortAudioError,
        query_devices=lambda device=None, kind=None: {
            "name": "Fake mic",
            "default_samplerate": 44100.0,
            "max_input_channels": 2,
        },
        check_input_settings=lambda *args, **kwargs: None,
        InputStream=make_stream,
    )


def test_microphone_stream_fills_the_buffer_and_reports_an_unplugged_device(monkeypatch):
    """A stand-in for sounddevice: an input overflow and a device vanishing mid-take are
    states a real sound system cannot be put in on cue. (The real path, PortAudio recording
    PulseAudio, is tests/gui/test_inputs.py's recording tests and tests/gui/test_microphone.py.)"""
    opened: list[_FakeStream] = []
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice(opened))
    microphone = MicrophoneStream()
    microphone.start()
    stream = opened[0]
    assert stream.kwargs["samplerate"] == 16000 and stream.kwargs["channels"] == 1
    callback = stream.kwargs["callback"]
    callback(
        np.full((320, 1), 0.5, dtype=np.float32), 320, None, SimpleNamespace(input_overflow=True)
    )
    assert microphone.latest(320).tolist() == [0.5] * 320
    assert microphone.overflows == 1 and microphone.problem() is None

    # PortAudio ends the stream on its own when the device disappears.
    stream.active = False
    stream.kwargs["finished_callback"]()
    assert "unplugged" in microphone.problem()
    microphone.stop()


def test_a_slow_first_block_is_not_an_unplugged_device(monkeypatch):
    # The fake stream stands in for a device that opens and then goes quiet, which a test
    # machine's real devices cannot be made to do on cue; the clock is moved by hand.
    opened: list[_FakeStream] = []
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice(opened))
    clock = [100.0]
    monkeypatch.setattr(microphone_module.time, "monotonic", lambda: clock[0])
    microphone = MicrophoneStream()
    microphone.start()
    callback = opened[0].kwargs["callback"]

    clock[0] += microphone_module.STALL_SECONDS + 1  # waking up: no block yet, no problem
    assert microphone.problem() is None
    clock[0] += microphone_module.FIRST_BLOCK_SECONDS  # never woke up
    assert "delivered no audio" in microphone.problem()

    callback(np.zeros((320, 1), dtype=np.float32), 320, None, None)
    assert microphone.problem() is None
    clock[0] += microphone_module.STALL_SECONDS + 1  # delivered, then stopped: gone
    assert "unplugged" in microphone.problem()
    microphone.stop()


def test_microphone_stream_turns_open_failures_into_messages(monkeypatch):
    """A stand-in for sounddevice: a device that refuses to open (busy, or gone between
    listing and opening) cannot be made on cue."""
    fake = _fake_sounddevice([])

    def refuse(**kwargs):
        raise _PortAudioError("Device unavailable [PaErrorCode -9985]")

    fake.InputStream = refuse
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    with pytest.raises(MicrophoneError, match="could not be opened"):
        MicrophoneStream().start()


def test_audio_package_imports_neither_qt_nor_sounddevice():
    code = (
        "import sys, mmstudio.audio; "
        "print(sorted(m for m in ('PySide6', 'pyqtgraph', 'sounddevice') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
