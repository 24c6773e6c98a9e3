"""Shared helpers for turning a path or raw bytes into something a decoder can read."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

from .errors import InputError

_SNIFF_BYTES = 512

# Magic numbers only used to explain a failure ("it looks like audio"), never to decide a format.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"GIF8", 0, "a GIF image"),
    (b"BM", 0, "a BMP image"),
    (b"II*\x00", 0, "a TIFF image"),
    (b"MM\x00*", 0, "a TIFF image"),
    (b"WEBP", 8, "a WebP image"),
    (b"DDS ", 0, "a DDS image"),
    (b"8BPS", 0, "a Photoshop image"),
    (b"icns", 0, "an ICNS image"),
    (b"WAVE", 8, "WAV audio"),
    (b"fLaC", 0, "FLAC audio"),
    (b"OggS", 0, "Ogg audio"),
    (b"ID3", 0, "MP3 audio"),
    (b"%PDF", 0, "a PDF document"),
    (b"%!PS", 0, "a PostScript document"),
    (b"\xc5\xd0\xd3\xc6", 0, "a PostScript document"),
    (b"PK\x03\x04", 0, "a ZIP archive"),
)


def source_label(source: str | Path | bytes, name: str | None, default: str) -> str:
    """What to call the input in messages: the given name, the path, or a generic noun."""
    if name:
        return name
    if isinstance(source, (bytes, bytearray, memoryview)):
        return default
    return str(source)


def open_binary(source: str | Path | bytes, label: str) -> BinaryIO:
    """Open a path or wrap bytes, refusing missing, non-regular and empty inputs up front."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise InputError("the data is empty (0 bytes)", label)
        return io.BytesIO(bytes(source))
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"expected a file path or bytes, got {type(source).__name__}", label)
    path = Path(source)
    try:
        if path.is_dir():
            raise InputError("this is a folder, not a file", label)
        if path.stat().st_size == 0:
            raise InputError("the file is empty (0 bytes)", label)
        return path.open("rb")
    except FileNotFoundError:
        raise InputError("the file does not exist", label) from None
    except PermissionError:
        raise InputError("the file cannot be read: permission denied", label) from None
    except OSError as exc:
        raise InputError(f"the file cannot be read ({exc.strerror or exc})", label) from None


def sniff(stream: BinaryIO) -> str | None:
    """A guess at what the bytes really are, for 'it looks like ...' in error messages."""
    try:
        stream.seek(0)
        head = stream.read(_SNIFF_BYTES)
    except (OSError, ValueError):
        return None
    for magic, offset, kind in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "MP3 audio"
    if _looks_like_text(head):
        return "text"
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off at the sniff boundary is still text.
        if exc.start < len(head) - 3:
            return False
        decoded = head[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in decoded)
    return printable >= 0.95 * len(decoded)


def group_thousands(value: float) -> str:
    return f"{value:,.0f}"
