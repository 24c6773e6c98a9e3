"""The recorder behind the Record button: mmstudio.audio's microphone stream, kept for a whole take.

sounddevice is imported on first use (by mmstudio.audio): a machine without PortAudio still opens
the window, and the Record button then says what to install.
"""

from __future__ import annotations

import numpy as np

from mmstudio.audio import MicrophoneError, MicrophoneStream, load_sounddevice, refresh_devices

INSTALL_HINT = "Install PortAudio (Debian/Ubuntu: sudo apt install libportaudio2)"
NO_DEVICE = (
    "No microphone was found. Connect one or enable it in the system's sound settings, "
    "then click ⟳ to look again."
)
# A take longer than this keeps its last MAX_SECONDS (the model hears 1.5 s of it anyway).
MAX_SECONDS = 120.0
# The level meter shows the peak of the newest 1/30 s, one display frame.
LEVEL_SECONDS = 1.0 / 30.0

__all__ = ["INSTALL_HINT", "MAX_SECONDS", "MicrophoneError", "Recorder", "probe"]


def probe(refresh: bool = False) -> str | None:
    """None when recording can work; otherwise the reason, in words a user can act on."""
    try:
        if refresh:
            refresh_devices()  # PortAudio lists devices only when it initialises
        load_sounddevice().query_devices(kind="input")
    except MicrophoneError as error:
        if "PortAudio" in str(error):
            return f"{INSTALL_HINT}; recording is unavailable until then."
        return str(error)[:1].upper() + str(error)[1:]
    except Exception:  # PortAudioError or ValueError: there is no default input device
        return NO_DEVICE
    return None


class Recorder:
    """Start, watch and stop one take from the default microphone."""

    def __init__(self) -> None:
        self._stream: MicrophoneStream | None = None

    @property
    def recording(self) -> bool:
        return self._stream is not None

    @property
    def sample_rate(self) -> int:
        return self._stream.sample_rate if self._stream is not None else 16000

    @property
    def seconds(self) -> float:
        stream = self._stream
        return (
            stream.buffer.total_written / float(stream.sample_rate) if stream is not None else 0.0
        )

    def start(self) -> None:
        """Raises MicrophoneError with a message for the user."""
        stream = MicrophoneStream(buffer_seconds=MAX_SECONDS)
        stream.start()
        self._stream = stream

    def stop(self) -> tuple[np.ndarray, int]:
        """Stop recording; returns the take and its sample rate."""
        stream, self._stream = self._stream, None
        if stream is None:
            return np.zeros(0, np.float32), 16000
        stream.stop()
        return stream.latest(stream.buffer.total_written), stream.sample_rate

    def recent(self, count: int) -> np.ndarray:
        return self._stream.latest(count) if self._stream is not None else np.zeros(0, np.float32)

    def level(self) -> float:
        """Peak amplitude of the newest display frame, in [0, 1]."""
        block = self.recent(int(self.sample_rate * LEVEL_SECONDS))
        return float(np.abs(block).max(initial=0.0))

    def problem(self) -> str | None:
        return self._stream.problem() if self._stream is not None else None
