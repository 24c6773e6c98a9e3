"""A microphone stream that keeps the last seconds of audio in a ring buffer.

PortAudio calls ``_on_audio`` on its own real-time thread; everything else here runs on the
caller's thread. Problems on the audio thread (an unplugged device, overruns) are recorded and
reported by :meth:`MicrophoneStream.problem`, because raising there would only kill that thread.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from .devices import MicrophoneError, load_sounddevice
from .ring_buffer import RingBuffer

# What the model listens at; asking the device for it avoids resampling every window.
PREFERRED_RATE = 16000
# A live stream delivers a block every few tens of ms; this much silence from the driver
# (not a quiet room: no callbacks at all) means the device has gone.
STALL_SECONDS = 2.0
# Opening a device can take far longer than a block: a Bluetooth headset switching profile,
# or a PulseAudio sink waking from suspend, takes a few seconds to deliver its first block.
FIRST_BLOCK_SECONDS = 10.0


class MicrophoneStream:
    """Records mono float32 audio from ``device`` (index, name, or None for the default)."""

    def __init__(
        self,
        device: int | str | None = None,
        *,
        buffer_seconds: float = 10.0,
        block_seconds: float = 0.02,
    ) -> None:
        self.device = device
        self.buffer_seconds = buffer_seconds
        self.block_seconds = block_seconds
        self.sample_rate = PREFERRED_RATE
        self.device_name = "the default microphone" if device is None else str(device)
        self.buffer = RingBuffer(int(PREFERRED_RATE * buffer_seconds))
        self.overflows = 0
        self._stream = None
        self._stopping = False
        self._failure: str | None = None
        self._last_block = 0.0
        self._blocks = 0
        self._state = threading.Lock()

    @property
    def running(self) -> bool:
        return self._stream is not None

    def start(self) -> None:
        """Open and start the stream. Raises MicrophoneError with a message for the user."""
        sd = load_sounddevice()
        self._stopping = False
        self._failure = None
        try:
            info = sd.query_devices(self.device, kind="input")
            self.device_name = str(info["name"])
            self.sample_rate, channels = self._settings(sd, info)
            self.buffer = RingBuffer(int(self.sample_rate * self.buffer_seconds))
            stream = sd.InputStream(
                device=self.device,
                channels=channels,
                samplerate=self.sample_rate,
                dtype="float32",
                blocksize=max(1, int(self.sample_rate * self.block_seconds)),
                callback=self._on_audio,
                finished_callback=self._on_finished,
            )
            self._last_block = time.monotonic()
            self._blocks = 0
            stream.start()
        except (ValueError, sd.PortAudioError) as error:
            raise MicrophoneError(_open_failure(self.device, error)) from None
        self._stream = stream

    def _settings(self, sd, info) -> tuple[int, int]:
        """The preferred rate in mono where the device allows it, else what the device offers."""
        for rate in (PREFERRED_RATE, int(info["default_samplerate"])):
            for channels in (1, min(2, int(info["max_input_channels"]))):
                try:
                    sd.check_input_settings(
                        self.device, channels=channels, samplerate=rate, dtype="float32"
                    )
                    return rate, channels
                except (ValueError, sd.PortAudioError):
                    continue
        return int(info["default_samplerate"]), 1

    def _on_audio(self, indata: np.ndarray, frames: int, time_info, status) -> None:
        mono = indata[:, 0] if indata.shape[1] == 1 else indata.mean(axis=1)
        self.buffer.write(mono)
        self._last_block = time.monotonic()
        self._blocks += 1
        if status and status.input_overflow:
            self.overflows += 1

    def _on_finished(self) -> None:
        if not self._stopping:
            self._failure = f"{self.device_name} stopped delivering audio (was it unplugged?)"

    def latest(self, count: int) -> np.ndarray:
        return self.buffer.latest(count)

    def problem(self) -> str | None:
        """Why the stream is not delivering audio, or None while it is healthy."""
        if self._failure:
            return self._failure
        stream = self._stream
        if stream is None:
            return None
        if not stream.active and not self._stopping:
            return f"{self.device_name} stopped delivering audio (was it unplugged?)"
        silent_for = time.monotonic() - self._last_block
        if not self._blocks:
            if silent_for > FIRST_BLOCK_SECONDS:
                return (
                    f"{self.device_name} opened but delivered no audio in {silent_for:.0f} s "
                    "(is it in use by another program, or muted in the system's settings?)"
                )
            return None
        if silent_for > STALL_SECONDS:
            return f"no audio has arrived from {self.device_name} for {silent_for:.0f} s (was it unplugged?)"
        return None

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        self._stopping = True
        try:
            stream.stop()
            stream.close()
        except Exception:  # noqa: BLE001 - a vanished device may fail to close; it is gone either way
            pass


def _open_failure(device: int | str | None, error: BaseException) -> str:
    which = "the default microphone" if device is None else f"the microphone '{device}'"
    text = str(error)
    if (
        "No input device" in text
        or "Invalid device" in text
        or "No such device" in text
        or "matching" in text
    ):
        return f"{which} is not available: no such recording device was found ({text})"
    return f"{which} could not be opened ({text})"
