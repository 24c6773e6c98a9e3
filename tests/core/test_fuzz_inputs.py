"""Property-based fuzzing of the input checks: whatever the bytes or the text, the loaders
either succeed or raise the project's InputError, never anything else.

Bounded for CI: a fixed number of examples each, no deadline (the machine is shared).
"""

from __future__ import annotations

import io
import struct
import unicodedata
import zlib

import numpy as np
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mmstudio.inputs import InputError, load_audio, load_image, normalize_text
from mmstudio.inputs.headers import id3_tag_bytes, wav_claimed_frames
from mmstudio.inputs.sample import AudioClip

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def _wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _png(width: int = 12, height: int = 9) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


VALID_WAV = _wav(0.3 * np.sin(np.arange(800) / 5.0).astype(np.float32))
VALID_PNG = _png()


def _mutated(base: bytes):
    """``base`` with some bytes overwritten, then possibly cut short or extended."""
    return st.tuples(
        st.lists(st.tuples(st.integers(0, len(base) - 1), st.integers(0, 255)), max_size=12),
        st.integers(0, len(base)),
        st.binary(max_size=64),
    ).map(lambda spec: _apply(base, *spec))


def _apply(base: bytes, edits, length: int, tail: bytes) -> bytes:
    data = bytearray(base)
    for position, value in edits:
        data[position] = value
    return bytes(data[:length]) + tail


def _header_fields():
    """A WAV header whose every numeric field is arbitrary, followed by a few samples."""
    return st.builds(
        lambda tag, channels, rate, byte_rate, align, bits, size, body: (
            b"RIFF"
            + struct.pack("<I", 36 + len(body))
            + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, tag, channels, rate, byte_rate, align, bits)
            + b"data"
            + struct.pack("<I", size)
            + body
        ),
        st.sampled_from([0, 1, 2, 3, 6, 7, 0x11, 0x31, 0x55, 0xFFFE, 0xFFFF]),
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 0xFFFF),
        st.sampled_from([0, 1, 8, 12, 16, 24, 32, 64, 0xFFFF]),
        st.integers(0, 0xFFFFFFFF),
        st.binary(min_size=0, max_size=256),
    )


def _png_with_header(width: int, height: int, depth: int, colour: int, interlace: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    ihdr = b"IHDR" + header
    body = b"IDAT" + zlib.compress(b"\x00" * 64)
    end = b"IEND"

    def chunk(data: bytes) -> bytes:
        return struct.pack(">I", len(data) - 4) + data + struct.pack(">I", zlib.crc32(data))

    return b"\x89PNG\r\n\x1a\n" + chunk(ihdr) + chunk(body) + chunk(end)


def _loads_or_refuses_audio(data: bytes) -> None:
    try:
        clip = load_audio(data, name="fuzz.wav")
    except InputError as error:
        assert "fuzz.wav" in str(error)
        return
    assert isinstance(clip, AudioClip)
    assert np.isfinite(clip.samples).all() and np.abs(clip.samples).max() <= 1.0


def _loads_or_refuses_image(data: bytes) -> None:
    try:
        image = load_image(data, name="fuzz.png")
    except InputError as error:
        assert "fuzz.png" in str(error)
        return
    assert image.mode == "RGB" and image.width > 0 and image.height > 0


@FUZZ
@given(_mutated(VALID_WAV))
def test_mutated_wav_files_load_or_are_refused_in_words(data):
    _loads_or_refuses_audio(data)


@FUZZ
@given(_header_fields())
def test_wav_headers_with_arbitrary_fields_load_or_are_refused_in_words(data):
    _loads_or_refuses_audio(data)
    claimed = wav_claimed_frames(data)
    assert claimed is None or claimed >= 0


@FUZZ
@given(st.binary(max_size=2048))
def test_header_readers_never_raise(data):
    claimed = wav_claimed_frames(b"RIFF\x00\x00\x00\x00WAVE" + data)
    assert claimed is None or claimed >= 0
    assert 0 <= id3_tag_bytes(b"ID3" + data) <= 10 + (1 << 28) + 10


@FUZZ
@given(_mutated(VALID_PNG))
def test_mutated_png_files_load_or_are_refused_in_words(data):
    _loads_or_refuses_image(data)


@FUZZ
@given(
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.sampled_from([0, 1, 2, 4, 8, 16, 32]),
    st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7]),
    st.integers(0, 2),
)
def test_png_headers_with_arbitrary_fields_load_or_are_refused_in_words(
    width, height, depth, colour, interlace
):
    _loads_or_refuses_image(_png_with_header(width, height, depth, colour, interlace))


@FUZZ
@given(st.text(max_size=2000), st.integers(1, 600))
def test_the_text_cleaner_returns_clean_bounded_text(text, max_chars):
    cleaned, notes = normalize_text(text, max_chars=max_chars)
    assert len(cleaned) <= max_chars
    assert cleaned == cleaned.strip() and "  " not in cleaned
    assert not any(ch in cleaned for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    # Control characters and lone surrogates go; other format characters (joiners, marks) stay.
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in cleaned)
    assert all(isinstance(note, str) and note for note in notes)
