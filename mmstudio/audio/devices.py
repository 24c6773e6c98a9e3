"""The sound system, reached through sounddevice (PortAudio), imported only when needed.

A machine without PortAudio must still import mmstudio and run everything but the microphone,
so the import happens here, on first use, and a failure becomes a message a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType


class MicrophoneError(RuntimeError):
    """The microphone cannot be used; the message says why in plain words, ready to show."""


def load_sounddevice() -> ModuleType:
    try:
        import sounddevice
    except ImportError:
        raise MicrophoneError(
            "the microphone cannot be used: the Python package 'sounddevice' is not installed "
            "(pip install sounddevice)"
        ) from None
    except OSError:
        # sounddevice raises OSError when the PortAudio shared library itself is missing.
        raise MicrophoneError(
            "the microphone cannot be used: the PortAudio library is missing "
            "(on Debian or Ubuntu: sudo apt install libportaudio2; on Fedora: portaudio)"
        ) from None
    return sounddevice


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    host_api: str
    channels: int
    default_sample_rate: float
    is_default: bool

    @property
    def label(self) -> str:
        return f"{self.name} ({self.host_api})"


def list_input_devices() -> list[InputDevice]:
    """Every device that can record, the system default first. Raises MicrophoneError."""
    sd = load_sounddevice()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default_index = _default_input_index(sd)
    except sd.PortAudioError as error:
        raise MicrophoneError(f"the sound system cannot list microphones ({error})") from None
    found = [
        InputDevice(
            index=int(info["index"]),
            name=str(info["name"]),
            host_api=str(apis[info["hostapi"]]["name"]),
            channels=int(info["max_input_channels"]),
            default_sample_rate=float(info["default_samplerate"]),
            is_default=int(info["index"]) == default_index,
        )
        for info in devices
        if info["max_input_channels"] > 0
    ]
    return sorted(found, key=lambda device: not device.is_default)


def _default_input_index(sd: ModuleType) -> int:
    default = sd.default.device[0]
    if default is None or default < 0:
        try:
            return int(sd.query_devices(kind="input")["index"])
        except (sd.PortAudioError, ValueError):
            return -1
    return int(default)


def refresh_devices() -> None:
    """Ask PortAudio to enumerate devices again.

    PortAudio lists devices once, when it starts: a microphone plugged in later, or a sound
    server started after the first import, is invisible until it is re-initialised. Every open
    stream is invalidated, so call this only while none is open.
    """
    sd = load_sounddevice()
    sd._terminate()
    sd._initialize()
