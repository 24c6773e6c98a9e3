"""What a decoder's exception means for the user: one table, four kinds.

Pillow, libsndfile (through soundfile), zlib and struct raise whatever their authors chose:
``NotImplementedError`` for a pixel format nobody wrote, ``ValueError`` for a bad tile header,
``IndexError`` for a truncated GIF, ``RuntimeError`` for anything libsndfile dislikes. The loaders
catch every one of them around the decode and ask :func:`classify` what it means, so a user
reads "damaged", "unsupported variant" or "too large", never a traceback.
"""

from __future__ import annotations

import binascii
import re
import struct
import zlib
from enum import StrEnum

import soundfile
from PIL import Image, ImageCms, UnidentifiedImageError


class Kind(StrEnum):
    """Which of the things that can be wrong with a file a decoder failed on."""

    # The format is recognised, and the file may well be valid, but this variant of it (a sample
    # width, a compression, a pixel format) is one the decoder does not implement.
    UNSUPPORTED = "unsupported variant"
    DAMAGED = "damaged"
    # Larger than the limits, or a decompression bomb.
    TOO_LARGE = "too large"
    # No decoder recognises the bytes as its format at all.
    UNRECOGNISED = "not recognised"


# First matching row wins (isinstance), so subclasses come before their bases. Every exception
# type a decoder can raise must reach a row: tests/core/test_decoder_failures.py enumerates them.
_BY_TYPE: tuple[tuple[type[BaseException], Kind], ...] = (
    (Image.DecompressionBombError, Kind.TOO_LARGE),
    (ImageCms.PyCMSError, Kind.DAMAGED),  # an embedded colour profile littlecms cannot parse
    (Image.DecompressionBombWarning, Kind.TOO_LARGE),
    (MemoryError, Kind.TOO_LARGE),
    (UnidentifiedImageError, Kind.UNRECOGNISED),
    # Refined by its code below: libsndfile says "unimplemented" and "not recognised" too.
    (soundfile.LibsndfileError, Kind.DAMAGED),
    (soundfile.SoundFileError, Kind.DAMAGED),
    (NotImplementedError, Kind.UNSUPPORTED),
    # A decoder whose optional codec module is missing from this installation.
    (ImportError, Kind.UNSUPPORTED),
    (RecursionError, Kind.DAMAGED),  # nesting no real file has (a looping IFD chain)
    (RuntimeError, Kind.DAMAGED),
    (EOFError, Kind.DAMAGED),
    (OSError, Kind.DAMAGED),
    (SyntaxError, Kind.DAMAGED),
    (ValueError, Kind.DAMAGED),
    (LookupError, Kind.DAMAGED),  # IndexError, KeyError: an offset or a tag out of range
    (ArithmeticError, Kind.DAMAGED),  # a zero size to divide by, a field overflowing C
    (TypeError, Kind.DAMAGED),  # a field of the wrong shape
    (AttributeError, Kind.DAMAGED),  # a chunk a plugin assumed was read before
    (AssertionError, Kind.DAMAGED),
    (BufferError, Kind.DAMAGED),
    (struct.error, Kind.DAMAGED),
    (zlib.error, Kind.DAMAGED),
    (binascii.Error, Kind.DAMAGED),  # (a ValueError) bad base64 or hex in a text chunk
    (binascii.Incomplete, Kind.DAMAGED),  # encoded data that stops early
    # A plugin's C code or Python code going wrong on a file no valid one resembles.
    (SystemError, Kind.DAMAGED),
    (NameError, Kind.DAMAGED),
    (ReferenceError, Kind.DAMAGED),
    # A warning turned into an error (Pillow's decompression bomb warning is caught above).
    (Warning, Kind.DAMAGED),
)

# Decoders report a variant they lack in their own words, on the generic exception types.
_UNSUPPORTED_WORDS = re.compile(
    r"unsupported|not supported|unimplemented|not implemented|not configured|"
    r"decoder \S+ not available|encoder \S+ not available|cannot find loader|no decoder",
    re.IGNORECASE,
)
# Pillow's guards against a small file that expands into a huge one (a PNG text chunk bomb).
_TOO_LARGE_WORDS = re.compile(
    r"decompressed data too large|too much memory|exceeds limit|decompression bomb", re.IGNORECASE
)
_LIBSNDFILE_UNRECOGNISED = re.compile(r"not recogni[sz]ed|unknown format", re.IGNORECASE)


def kind_of(exception_type: type[BaseException]) -> Kind | None:
    """The table's kind for an exception type, or None when no row covers it."""
    for base, kind in _BY_TYPE:
        if issubclass(exception_type, base):
            return kind
    return None


def classify(exc: BaseException, chatter: str = "") -> Kind:
    """The kind of failure ``exc`` is, refined by its message and by what the C decoder printed
    on stderr while failing (libtiff says "... compression support is not configured" there and
    raises only "decoder error -2")."""
    kind = kind_of(type(exc))
    if kind is None:
        # Outside the table (a plugin's own exception class): a decoder gave up on the bytes.
        kind = Kind.DAMAGED
    if kind in (Kind.UNRECOGNISED, Kind.TOO_LARGE, Kind.UNSUPPORTED):
        return kind
    words = decoder_reason(exc)
    if isinstance(exc, soundfile.LibsndfileError) and _LIBSNDFILE_UNRECOGNISED.search(words):
        return Kind.UNRECOGNISED
    if _TOO_LARGE_WORDS.search(words):
        return Kind.TOO_LARGE
    if _UNSUPPORTED_WORDS.search(words) or _UNSUPPORTED_WORDS.search(chatter):
        return Kind.UNSUPPORTED
    return kind


def decoder_reason(exc: BaseException) -> str:
    """The decoder's own words for ``exc``: libsndfile's error string rather than soundfile's
    "Error opening 'path': " prefix, else the message, else the exception's name."""
    if isinstance(exc, soundfile.LibsndfileError):
        return exc.error_string
    text = str(exc).strip()
    return text or type(exc).__name__


def unsupported_line(chatter: str) -> str | None:
    """The line of a C decoder's stderr that names what it lacks, without its "file: " prefix
    (libtiff: "tempfile.tif: WEBP compression support is not configured.")."""
    for line in chatter.splitlines():
        if _UNSUPPORTED_WORDS.search(line):
            return line.split(": ", 1)[-1].strip().rstrip(".")
    return None
