"""Load audio files or in-memory recordings as validated mono clips at the model's sample rate."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile

from ._source import group_thousands, open_binary, sniff, source_label
from .errors import InputError
from .resample import resample
from .sample import AudioClip

MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 384_000
# More channels than any real recording rig; a header claiming more is corrupt or hostile.
MAX_CHANNELS = 64
# Quieter than the noise floor of any real microphone: nothing for a model to hear.
SILENCE_PEAK = 1e-4
# Many channels at a high rate can fit the duration limit and still not fit in memory.
MAX_DECODED_BYTES = 2 * 2**30


def load_audio(
    source: str | Path | bytes,
    *,
    target_rate: int = 16000,
    max_seconds: float = 600.0,
    name: str | None = None,
) -> AudioClip:
    """Read a WAV/FLAC/OGG/MP3 file (path or bytes), mix to mono and resample to ``target_rate``.

    The header is checked before any samples are read, so an over-long file costs nothing.
    """
    _check_target_rate(target_rate)
    label = source_label(source, name, "pasted audio")
    with open_binary(source, label) as stream:
        sound = _open_sound(stream, label)
        with sound:
            _check_header(sound, max_seconds, label)
            frames = _read_frames(sound, label)
            rate = sound.samplerate
    return _to_clip(frames, rate, target_rate, _clip_source(source, label), label)


def audio_from_array(
    samples: np.ndarray,
    sample_rate: int,
    *,
    target_rate: int = 16000,
    source: str | None = None,
) -> AudioClip:
    """Validate an in-memory recording, mix it to mono and resample it to ``target_rate``.

    ``samples`` is 1-D, or 2-D frames x channels (the shorter axis is taken as channels).
    """
    _check_target_rate(target_rate)
    label = source or "recording"
    frames = _as_float_frames(samples, label)
    _check_rate(sample_rate, label)
    if frames.size == 0:
        raise InputError("the recording contains no audio (0 samples)", label)
    return _to_clip(frames, int(sample_rate), target_rate, source, label)


def save_wav(clip: AudioClip, path: str | Path) -> Path:
    """Write ``clip`` as a 16-bit PCM WAV file, the format every audio tool opens."""
    path = Path(path)
    samples = np.clip(np.asarray(clip.samples, dtype=np.float32), -1.0, 1.0)
    try:
        soundfile.write(path, samples, int(clip.sample_rate), subtype="PCM_16", format="WAV")
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        raise InputError(f"the audio cannot be saved ({exc})", path) from None
    return path


def _open_sound(stream: BinaryIO, label: str) -> soundfile.SoundFile:
    try:
        return soundfile.SoundFile(stream)
    except (RuntimeError, OSError, ValueError, TypeError, EOFError):
        raise InputError(_unreadable_message(stream, label), label) from None


def _unreadable_message(stream: BinaryIO, label: str) -> str:
    # libsndfile's own reasons are often misleading ("not a regular file" for a bad MP3).
    kind = sniff(stream)
    suffix = Path(label).suffix.lower().lstrip(".")
    if kind and kind.endswith("audio"):
        return f"the file looks like {kind} but its header is damaged or incomplete; it may be truncated"
    if kind:
        return f"this is not an audio file soundfile can read (it looks like {kind})"
    if suffix in {"mp3", "wav", "flac", "ogg", "oga", "opus", "aiff", "aif"}:
        return (
            f"the file is named .{suffix} but is not valid {suffix.upper()} audio: "
            "the header is missing or damaged"
        )
    return "this is not an audio file soundfile can read: the format is not recognised"


def _check_header(sound: soundfile.SoundFile, max_seconds: float, label: str) -> None:
    _check_rate(sound.samplerate, label)
    if sound.channels < 1 or sound.channels > MAX_CHANNELS:
        raise InputError(
            f"the file claims {sound.channels} channels; at most {MAX_CHANNELS} are supported "
            "(the header may be damaged)",
            label,
        )
    if sound.frames <= 0:
        raise InputError("the file contains no audio samples (0 frames)", label)
    _check_decoded_size(sound.frames, sound.channels, label)
    seconds = sound.frames / sound.samplerate
    if seconds > max_seconds:
        raise InputError(
            f"the audio is {format_duration(seconds)} long; the limit is {format_duration(max_seconds)}",
            label,
        )


def _check_decoded_size(frames: int, channels: int, label: str) -> None:
    needed = frames * channels * 4  # decoded as float32
    if needed > MAX_DECODED_BYTES:
        raise InputError(
            f"the audio would need {needed / 2**30:.1f} GB of memory to decode; the limit is "
            f"{MAX_DECODED_BYTES / 2**30:.0f} GB (use fewer channels or a shorter recording)",
            label,
        )


def _check_target_rate(target_rate: int) -> None:
    # A wrong target rate is a programming error, not something the user can fix.
    if not MIN_SAMPLE_RATE <= target_rate <= MAX_SAMPLE_RATE:
        raise ValueError(
            f"target_rate must be {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz, got {target_rate}"
        )


def _check_rate(rate: float, label: str) -> None:
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise InputError(
            f"the sample rate of {group_thousands(rate)} Hz is not plausible; expected "
            f"{group_thousands(MIN_SAMPLE_RATE)} to {group_thousands(MAX_SAMPLE_RATE)} Hz "
            "(the header may be damaged)",
            label,
        )


def _read_frames(sound: soundfile.SoundFile, label: str) -> np.ndarray:
    try:
        frames = sound.read(dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError, EOFError) as exc:
        raise InputError(
            f"the audio data is damaged and cannot be decoded ({exc})", label
        ) from None
    except MemoryError:
        raise InputError(
            "the audio is too large to decode in the available memory", label
        ) from None
    if frames.shape[0] == 0:
        # The header promised samples the body does not have.
        raise InputError(
            "the file ends early: it may be truncated (no audio could be decoded)", label
        )
    return frames


def _as_float_frames(samples: np.ndarray, label: str) -> np.ndarray:
    array = np.asarray(samples)
    if array.ndim not in (1, 2):
        raise InputError(f"expected 1-D or 2-D audio samples, got {array.ndim}-D", label)
    if array.ndim == 1:
        array = array[:, None]
    elif array.shape[0] < array.shape[1]:
        array = array.T
    if np.issubdtype(array.dtype, np.integer):
        return _integer_to_float(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"audio samples must be numbers, not {array.dtype}", label)
    return array.astype(np.float32, copy=False)


def _integer_to_float(array: np.ndarray) -> np.ndarray:
    # Scaled the way soundfile scales PCM files, so a sound card's int16 equals the same WAV.
    info = np.iinfo(array.dtype)
    if info.min < 0:
        return (array.astype(np.float64) / -float(info.min)).astype(np.float32)
    middle = (float(info.max) + 1.0) / 2.0
    return ((array.astype(np.float64) - middle) / middle).astype(np.float32)


def _to_clip(
    frames: np.ndarray, rate: int, target_rate: int, source: str | None, label: str
) -> AudioClip:
    _check_finite(frames, label)
    peak = float(np.max(np.abs(frames)))
    if peak < SILENCE_PEAK:
        raise InputError(
            "the recording is silent (its loudest sample is below -80 dBFS); "
            "check the microphone or the file",
            label,
        )
    mono = frames.mean(axis=1, dtype=np.float32)
    if peak > 1.0:
        # Float files may exceed full scale; scaling keeps the waveform where clipping would not.
        mono = mono / peak
    mono = resample(mono, rate, target_rate)
    return AudioClip(samples=np.clip(mono, -1.0, 1.0), sample_rate=target_rate, source=source)


def _check_finite(frames: np.ndarray, label: str) -> None:
    if np.isnan(frames).any():
        raise InputError("the audio contains invalid samples (NaN)", label)
    if not np.isfinite(frames).all():
        raise InputError("the audio contains invalid samples (infinite values)", label)


def _clip_source(source: str | Path | bytes, label: str) -> str:
    return label if isinstance(source, (bytes, bytearray, memoryview)) else str(source)


def format_duration(seconds: float) -> str:
    """A duration the way a person says it: '2 h 0 min', '10 min', '1 min 30 s', '4.2 s'."""
    if seconds >= 3600:
        hours, rest = divmod(int(round(seconds)), 3600)
        return f"{hours} h {rest // 60} min"
    if seconds >= 60:
        minutes, secs = divmod(int(round(seconds)), 60)
        return f"{minutes} min" if secs == 0 else f"{minutes} min {secs} s"
    return f"{seconds:.1f} s"
