"""Load audio files or in-memory recordings as validated mono clips at the model's sample rate.

Files are decoded and mixed to mono in blocks, so the many-channel copies of a recording never
exist at once; the memory that decoding will take is estimated from the header first.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile

from ._source import group_thousands, open_binary, sniff, source_label
from .errors import InputError
from .failures import Kind, classify, decoder_reason
from .guard import decoding
from .headers import id3_tag_bytes, riff_claimed_bytes, wav_claimed_frames, wav_variant
from .resample import resample_noting
from .sample import AudioClip

MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 384_000
# More channels than any real recording rig; a header claiming more is corrupt or hostile.
MAX_CHANNELS = 64
# Quieter than the noise floor of any real microphone: nothing for a model to hear.
SILENCE_PEAK = 1e-4
# What decoding one file may take at its peak, every intermediate copy included (see
# decode_peak_bytes); the rest of the 2 GB a prediction may use is torch and the model.
MAX_DECODE_BYTES = 5 * 2**28
READ_BLOCK_FRAMES = 1 << 16
_SALVAGE_FRAMES = 1024
# Samples (frames x channels) one file may make us decode: 2 GB of 16-bit PCM, a minute of work.
# Memory is not the issue (blocks are mixed as they come); the time spent reading is.
MAX_DECODED_SAMPLES = 1 << 30
# Shorter than any spoken word: a model's answer to it means little.
SHORT_AUDIO_SECONDS = 0.1
# Lossy decoders overshoot full scale a little on loud material, never by 12 dB: that is noise
# decoded from random data.
MAX_LOSSY_PEAK = 4.0
# Above any MPEG audio bitrate (448 kbit/s, layer I), with room for padding.
MAX_MP3_BYTES_PER_SECOND = 80_000
# Below this many bytes of MP3 data the bitrate check says nothing.
_MIN_MP3_CHECK_BYTES = 16_384
_HEAD_BYTES = 65_536
_LOSSY_FORMATS = {"MP3", "OGG"}


def load_audio(
    source: str | Path | bytes,
    *,
    target_rate: int = 16000,
    max_seconds: float = 600.0,
    name: str | None = None,
) -> AudioClip:
    """Read a WAV/FLAC/OGG/MP3 file (path or bytes), mix to mono and resample to ``target_rate``.

    The header is checked before any samples are read, so an over-long or oversized file costs
    nothing. Anything accepted but altered or suspect (truncated, scaled, very short, DC only)
    is described in ``AudioClip.notes``.
    """
    _check_target_rate(target_rate)
    label = source_label(source, name, "pasted audio")
    with open_binary(source, label) as stream:
        head, data_bytes = _peek(stream)
        with decoding(label, _explain_failure):
            sound = _open_sound(stream, head, label)
            with sound:
                _check_header(sound, head, data_bytes, max_seconds, target_rate, label)
                levels = _Levels()
                mono, damage = _read_mono(sound, levels, head, label)
                rate, kind, header_frames = sound.samplerate, sound.format, sound.frames
    if damage:
        notes = [damage]
    else:
        notes = _length_notes(len(mono), header_frames, wav_claimed_frames(head), rate)
    if kind in _LOSSY_FORMATS:
        _check_lossy(levels.peak, kind, label)
    if kind == "MP3":
        _check_mp3_bitrate(data_bytes - id3_tag_bytes(head), len(mono) / rate, label)
    return _to_clip(mono, levels, rate, target_rate, _clip_source(source, label), label, notes)


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
    levels = _Levels()
    mono = levels.mix(frames, label)
    return _to_clip(mono, levels, int(sample_rate), target_rate, source, label, [])


def save_wav(clip: AudioClip, path: str | Path) -> Path:
    """Write ``clip`` as a 16-bit PCM WAV file, the format every audio tool opens."""
    path = Path(path)
    samples = np.clip(np.asarray(clip.samples, dtype=np.float32), -1.0, 1.0)
    try:
        soundfile.write(path, samples, int(clip.sample_rate), subtype="PCM_16", format="WAV")
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        raise InputError(f"the audio cannot be saved ({exc})", path) from None
    return path


def decode_peak_bytes(frames: int, channels: int, rate: int, target_rate: int) -> int:
    """Peak memory of decoding a file: one block and its magnitudes, the mono mix, the chunked
    resampler's working set, and the resampled clip with its clipped copy."""
    block = min(frames, READ_BLOCK_FRAMES) * channels * 4 * 2
    mono = frames * 4
    resampler = 16 * 2**20 * 4 if rate != target_rate else 0
    clip = math.ceil(frames * target_rate / rate) * 4 * 2
    return block + mono + resampler + clip


class _Levels:
    """Peak and AC level of everything mixed so far, gathered block by block."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.count = 0
        self._sum = 0.0
        self._squares = 0.0

    def mix(self, block: np.ndarray, label: str, out: np.ndarray | None = None) -> np.ndarray:
        """Check a (frames, channels) block and return (or write into ``out``) its mono mix."""
        peak = float(np.max(np.abs(block))) if block.size else 0.0
        if not math.isfinite(peak):
            kind = "NaN" if np.isnan(block).any() else "infinite values"
            raise InputError(f"the audio contains invalid samples ({kind})", label)
        self.peak = max(self.peak, peak)
        mono = np.mean(block, axis=1, dtype=np.float32, out=out)
        self.count += len(mono)
        self._sum += float(np.sum(mono, dtype=np.float64))
        self._squares += float(np.dot(mono, mono))
        return mono

    @property
    def ac_rms(self) -> float:
        """RMS level of the mix once its constant (DC) part is taken away."""
        if self.count == 0:
            return 0.0
        mean = self._sum / self.count
        return math.sqrt(max(0.0, self._squares / self.count - mean * mean))


def _peek(stream: BinaryIO) -> tuple[bytes, int]:
    stream.seek(0)
    head = stream.read(_HEAD_BYTES)
    size = stream.seek(0, os.SEEK_END)
    stream.seek(0)
    return head, size


def _open_sound(stream: BinaryIO, head: bytes, label: str) -> soundfile.SoundFile:
    try:
        return soundfile.SoundFile(stream)
    except Exception as exc:  # noqa: BLE001 - whatever libsndfile says, the file is at fault
        kind, message = _open_failure(exc, stream, head, label)
        raise InputError(message, label, kind=kind) from exc


def _open_failure(
    exc: BaseException, stream: BinaryIO, head: bytes, label: str
) -> tuple[Kind, str]:
    """What libsndfile's refusal to open the file means: a WAV's own header tells a damaged
    file from a valid one in a variant libsndfile does not implement."""
    kind = classify(exc)
    wav = wav_variant(head, whole=len(head) < _HEAD_BYTES)
    if wav is not None and wav.problem:
        return (
            Kind.DAMAGED,
            f"the file looks like WAV audio but its header is damaged: {wav.problem}",
        )
    if (
        wav is not None
        and wav.readable
        and kind is Kind.UNSUPPORTED
        and isinstance(exc, soundfile.LibsndfileError)
    ):
        # libsndfile calls a cut-off header "unimplemented" too.
        return Kind.DAMAGED, (
            f"the WAV file is damaged: its header ({wav.name}) is one that is read here, but "
            f"the file cannot be decoded ({decoder_reason(exc)})"
        )
    if kind is Kind.UNSUPPORTED:
        return kind, _unsupported_message(wav.name if wav else decoder_reason(exc), stream)
    if kind is Kind.TOO_LARGE:
        return kind, "the audio is too large to decode in the available memory"
    return _unreadable(stream, label)


def _unsupported_message(variant: str, stream: BinaryIO) -> str:
    what = sniff(stream)
    what = what if what and what.endswith("audio") else "audio"
    return (
        f"the file is {what} in an unsupported variant ({variant}); the file may well be "
        "valid, but it cannot be read here: convert it to 16- or 24-bit PCM WAV, or FLAC"
    )


def _explain_failure(kind: Kind, exc: BaseException, said: str) -> tuple[Kind, str]:
    """Words for a failure outside the checks below (the decoding guard's fallback)."""
    reason = decoder_reason(exc)
    if kind is Kind.TOO_LARGE:
        return kind, f"the audio is too large to decode in the available memory ({reason})"
    if kind is Kind.UNSUPPORTED:
        return kind, f"the audio is in an unsupported variant ({reason}); it cannot be read here"
    if kind is Kind.UNRECOGNISED:
        return kind, f"this is not an audio file soundfile can read ({reason})"
    return kind, f"the audio data is damaged and cannot be decoded ({reason})"


def _unreadable(stream: BinaryIO, label: str) -> tuple[Kind, str]:
    # libsndfile's own reasons are often misleading ("not a regular file" for a bad MP3).
    kind = sniff(stream)
    suffix = Path(label).suffix.lower().lstrip(".")
    if kind and kind.endswith("audio"):
        return Kind.DAMAGED, (
            f"the file looks like {kind} but its header is damaged or incomplete; it may be "
            "truncated"
        )
    if kind:
        return (
            Kind.UNRECOGNISED,
            f"this is not an audio file soundfile can read (it looks like {kind})",
        )
    if suffix in {"mp3", "wav", "flac", "ogg", "oga", "opus", "aiff", "aif"}:
        return Kind.DAMAGED, (
            f"the file is named .{suffix} but is not valid {suffix.upper()} audio: "
            "the header is missing or damaged"
        )
    return (
        Kind.UNRECOGNISED,
        "this is not an audio file soundfile can read: the format is not recognised",
    )


def _check_header(
    sound: soundfile.SoundFile,
    head: bytes,
    size: int,
    max_seconds: float,
    target_rate: int,
    label: str,
) -> None:
    _check_rate(sound.samplerate, label)
    if sound.channels < 1 or sound.channels > MAX_CHANNELS:
        raise InputError(
            f"the file claims {sound.channels} channels; at most {MAX_CHANNELS} are supported "
            "(the header may be damaged)",
            label,
        )
    if sound.frames <= 0:
        # An empty recording is a complete file; a WAV that claims more bytes is a cut one.
        claimed = riff_claimed_bytes(head)
        if claimed is not None and claimed > size:
            raise InputError(
                f"the file is damaged: its header gives {group_thousands(claimed)} bytes, but it "
                f"ends after {group_thousands(size)}, before any audio; it is truncated",
                label,
                kind=Kind.DAMAGED,
            )
        raise InputError("the file contains no audio samples (0 frames)", label)
    seconds = sound.frames / sound.samplerate
    if seconds > max_seconds:
        raise InputError(
            f"the audio is {format_duration(seconds)} long; the limit is {format_duration(max_seconds)}",
            label,
            kind=Kind.TOO_LARGE,
        )
    samples = sound.frames * sound.channels
    if samples > MAX_DECODED_SAMPLES:
        raise InputError(
            f"the audio holds {group_thousands(samples)} samples ({sound.channels} channels of "
            f"{format_duration(seconds)}); at most {group_thousands(MAX_DECODED_SAMPLES)} can be "
            "read (use fewer channels or a shorter recording)",
            label,
            kind=Kind.TOO_LARGE,
        )
    needed = decode_peak_bytes(sound.frames, sound.channels, sound.samplerate, target_rate)
    if needed > MAX_DECODE_BYTES:
        raise InputError(
            f"the audio would need {needed / 2**30:.1f} GB of memory to decode; the limit is "
            f"{MAX_DECODE_BYTES / 2**30:.2f} GB (use a lower sample rate or a shorter recording)",
            label,
            kind=Kind.TOO_LARGE,
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


def _read_mono(
    sound: soundfile.SoundFile, levels: _Levels, head: bytes, label: str
) -> tuple[np.ndarray, str | None]:
    """Decode block by block into one mono buffer; also returns a note when the data breaks off
    after some audio was read. Explicit block sizes also read formats libsndfile cannot seek
    in (GSM 6.10 from an open file), where a whole-file read fails."""
    mono = np.empty(sound.frames, dtype=np.float32)
    filled, failure = _read_into(sound, mono, 0, READ_BLOCK_FRAMES, levels, label)
    if failure is not None and sound.seekable():
        # The failed block may hold good audio before the damage: read up to it in small steps.
        try:
            sound.seek(filled)
        except Exception:  # noqa: BLE001 - no salvage then: the failure below stands
            pass
        else:
            filled, _ = _read_into(sound, mono, filled, _SALVAGE_FRAMES, levels, label)
    if filled == 0:
        if failure is not None:
            raise _read_failure(failure, head, label)
        # The header promised samples the body does not have.
        raise InputError(
            "the file ends early: it may be truncated (no audio could be decoded)", label
        )
    if failure is None:
        return mono[:filled], None
    seconds = format_duration(filled / sound.samplerate)
    return mono[:filled], (
        f"the audio data is damaged or cut off after {seconds} ({decoder_reason(failure)}); "
        f"the first {seconds} were analysed"
    )


def _read_failure(failure: BaseException, head: bytes, label: str) -> InputError:
    kind = classify(failure)
    wav = wav_variant(head)
    if kind is Kind.UNSUPPORTED and not (
        wav and wav.readable and isinstance(failure, soundfile.LibsndfileError)
    ):
        variant = wav.name if wav and not wav.problem else decoder_reason(failure)
        return InputError(
            f"the audio is in an unsupported variant ({variant}); the file may well be valid, "
            "but it cannot be read here: convert it to 16- or 24-bit PCM WAV, or FLAC",
            label,
            kind=kind,
        )
    return InputError(
        f"the audio data is damaged and cannot be decoded ({decoder_reason(failure)})",
        label,
        kind=Kind.DAMAGED,
    )


def _read_into(
    sound: soundfile.SoundFile,
    mono: np.ndarray,
    filled: int,
    step: int,
    levels: _Levels,
    label: str,
) -> tuple[int, Exception | None]:
    """Mix ``step``-frame blocks into ``mono`` from ``filled`` on; returns how far it got and,
    if decoding failed there, libsndfile's exception."""
    block = np.empty((max(1, min(step, len(mono))), sound.channels), dtype=np.float32)
    while filled < len(mono):
        want = min(len(block), len(mono) - filled)
        try:
            got = sound.read(want, dtype="float32", always_2d=True, out=block[:want])
        except MemoryError:
            raise  # not damage: the guard reports it as too large
        except Exception as exc:  # noqa: BLE001 - libsndfile's failure on the file's data
            return filled, exc
        if len(got) == 0:
            break
        levels.mix(got, label, out=mono[filled : filled + len(got)])
        filled += len(got)
    return filled, None


def _length_notes(decoded: int, header_frames: int, wav_claim: int | None, rate: int) -> list[str]:
    # libsndfile clamps a WAV's claimed length to the file size, so the raw claim is checked too.
    claimed = max(header_frames, wav_claim or 0)
    if claimed <= decoded:
        return []
    return [
        f"the file's header says the audio is {format_duration(claimed / rate)} long but only "
        f"{format_duration(decoded / rate)} could be read: the file may be truncated; "
        "what was read was analysed"
    ]


def _check_lossy(peak: float, kind: str, label: str) -> None:
    if peak > MAX_LOSSY_PEAK:
        raise InputError(
            f"this is not valid {kind} audio: it decodes to noise {20 * math.log10(peak):.0f} dB "
            "above full scale, which only damaged or random data produces",
            label,
            kind=Kind.DAMAGED,
        )


def _check_mp3_bitrate(data_bytes: int, seconds: float, label: str) -> None:
    if data_bytes < _MIN_MP3_CHECK_BYTES or data_bytes <= MAX_MP3_BYTES_PER_SECOND * seconds:
        return
    raise InputError(
        f"only {format_duration(seconds)} of audio could be decoded from "
        f"{group_thousands(data_bytes)} bytes of MP3 data: most of the file is not valid MP3 "
        "audio (it is damaged or random data)",
        label,
        kind=Kind.DAMAGED,
    )


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
    mono: np.ndarray,
    levels: _Levels,
    rate: int,
    target_rate: int,
    source: str | None,
    label: str,
    notes: list[str],
) -> AudioClip:
    if levels.peak < SILENCE_PEAK:
        raise InputError(
            "the recording is silent (its loudest sample is below -80 dBFS); "
            "check the microphone or the file",
            label,
        )
    notes = list(notes)
    if levels.ac_rms < SILENCE_PEAK:
        notes.append(
            "the audio is a constant offset (DC) with no sound in it: the prediction means little"
        )
    if levels.peak > 1.0:
        # Float files may exceed full scale; scaling keeps the waveform where clipping would not.
        mono = mono / levels.peak
        notes.append(
            f"the samples went {20 * math.log10(levels.peak):.1f} dB beyond full scale; "
            "the audio was scaled down to fit"
        )
    seconds = len(mono) / rate
    if seconds < SHORT_AUDIO_SECONDS:
        count = len(mono)
        notes.append(
            f"the audio is only {seconds * 1000:.3g} ms long ({count} sample"
            f"{'' if count == 1 else 's'}): too short for a reliable prediction"
        )
    mono = _resample(mono, rate, target_rate, notes)
    np.clip(mono, -1.0, 1.0, out=mono)
    return AudioClip(samples=mono, sample_rate=target_rate, source=source, notes=tuple(notes))


def _resample(mono: np.ndarray, rate: int, target_rate: int, notes: list[str]) -> np.ndarray:
    resampled, note = resample_noting(mono, rate, target_rate)
    if note:
        notes.append(note)
    return resampled


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
