"""Writers for the corpus's input files: real encoders where a real file is wanted, hand-made
headers where the point is a header that lies, and sparse files for the big ones (only the
bytes that matter are written; the rest is a hole the file system never stores)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image, ImageDraw

RATE = 16000


def tone(seconds: float, rate: int = RATE, frequency: float = 440.0, level: float = 0.3):
    count = max(1, int(round(seconds * rate)))
    return (level * np.sin(2 * np.pi * frequency * np.arange(count) / rate)).astype(np.float32)


def write_sound(path: Path, samples: np.ndarray, rate: int = RATE, **options) -> Path:
    soundfile.write(path, samples, rate, **options)
    return path


def wav_header(
    rate: int, channels: int, bits: int, data_bytes: int, *, fmt_tag: int = 1, riff_size=None
) -> bytes:
    block_align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block_align, block_align, bits)
    riff = riff_size if riff_size is not None else min(0xFFFFFFFF, 36 + data_bytes)
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", min(0xFFFFFFFF, data_bytes))
    )


def sparse_wav(
    path: Path, rate: int, channels: int, seconds: float, *, sound_seconds: float = 1.0
) -> Path:
    """A 16-bit WAV of ``seconds`` whose first ``sound_seconds`` hold a tone, the rest a hole."""
    frames = int(rate * seconds)
    data_bytes = frames * channels * 2
    loud = tone(min(seconds, sound_seconds), rate)
    pcm = (np.repeat(loud[:, None], channels, axis=1) * 32767).astype("<i2").tobytes()
    with path.open("wb") as file:
        file.write(wav_header(rate, channels, 16, data_bytes))
        file.write(pcm)
        file.truncate(44 + data_bytes)
    return path


def wav_claiming(path: Path, claimed_seconds: float, held_seconds: float) -> Path:
    """A WAV whose header claims ``claimed_seconds`` but whose body holds ``held_seconds``."""
    pcm = (tone(held_seconds) * 32767).astype("<i2").tobytes()
    path.write_bytes(wav_header(RATE, 1, 16, int(claimed_seconds * RATE) * 2) + pcm)
    return path


def float_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """A 32-bit float WAV written by hand, so NaN, infinity and values past 1.0 stay as given."""
    data = np.asarray(samples, dtype="<f4").tobytes()
    path.write_bytes(wav_header(rate, 1, 32, len(data), fmt_tag=3) + data)
    return path


def pcm_wav(path: Path, samples: np.ndarray, rate: int = RATE, channels: int = 1) -> Path:
    data = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    path.write_bytes(wav_header(rate, channels, 16, len(data)) + data)
    return path


def mp3_sync_garbage(path: Path, size: int = 400_000, seed: int = 0) -> Path:
    """Valid MPEG-1 layer III frame headers (128 kbit/s, 44.1 kHz) around random payloads."""
    rng = np.random.default_rng(seed)
    data = bytearray(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    for start in range(0, size - 4, 417):
        data[start : start + 4] = b"\xff\xfb\x90\x64"
    path.write_bytes(bytes(data))
    return path


def mp3_then_junk(path: Path, junk_bytes: int = 300_000, seed: int = 1) -> Path:
    """One second of real MP3 followed by random bytes the decoder gives up on."""
    buffer = io.BytesIO()
    soundfile.write(buffer, tone(1.0), RATE, format="MP3")
    rng = np.random.default_rng(seed)
    junk = rng.integers(0, 255, junk_bytes, dtype=np.uint8)  # never 0xFF: no sync word
    path.write_bytes(buffer.getvalue() + junk.tobytes())
    return path


def digit_picture(size: tuple[int, int] = (96, 120), mode: str = "RGB") -> Image.Image:
    picture = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(picture)
    width, height = size
    draw.ellipse(
        [width * 0.2, height * 0.1, width * 0.8, height * 0.9],
        outline="black",
        width=max(1, width // 12),
    )
    return picture.convert(mode)


def noisy_photo(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A large picture that still compresses (smooth gradients plus a little noise)."""
    width, height = size
    small = np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR)


def save_picture(path: Path, picture: Image.Image, **options) -> Path:
    picture.save(path, **options)
    return path


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` and whose body holds almost nothing."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat_body = b"IDAT" + zlib.compress(b"\x00" * 16)
    idat = (
        struct.pack(">I", len(idat_body) - 4) + idat_body + struct.pack(">I", zlib.crc32(idat_body))
    )
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + ihdr + idat + end)
    return path


def random_bytes(path: Path, size: int = 4096, seed: int = 0) -> Path:
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def cut(path: Path, source: Path, keep: float) -> Path:
    """``source`` with only its first ``keep`` fraction of bytes, written to ``path``."""
    data = source.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path
