"""Microphone capture without Qt: a sounddevice stream into a ring buffer, a sliding window over
it and a level gate that keeps a quiet room from counting as audio.

sounddevice is imported on first use (see :mod:`mmstudio.audio.devices`), so importing this
package works on a machine without PortAudio.
"""

from .devices import (
    InputDevice,
    MicrophoneError,
    list_input_devices,
    load_sounddevice,
    refresh_devices,
)
from .level import FLOOR_DBFS, LevelGate, peak_frame_dbfs, rms_dbfs
from .microphone import MicrophoneStream
from .ring_buffer import RingBuffer
from .window import DEFAULT_WINDOW_SECONDS, AudioSource, AudioWindow, GatedWindow

__all__ = [
    "DEFAULT_WINDOW_SECONDS",
    "FLOOR_DBFS",
    "AudioSource",
    "AudioWindow",
    "GatedWindow",
    "InputDevice",
    "LevelGate",
    "MicrophoneError",
    "MicrophoneStream",
    "RingBuffer",
    "list_input_devices",
    "load_sounddevice",
    "peak_frame_dbfs",
    "refresh_devices",
    "rms_dbfs",
]
