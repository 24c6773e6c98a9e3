"""Normalise typed or pasted text and read text files, so tokenizers see clean, bounded input."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

from ._source import group_thousands, open_binary, source_label
from .errors import InputError
from .failures import Kind

MAX_TEXT_FILE_BYTES = 1_000_000

# Invisible format characters that only ever get in a tokenizer's way. Joiners (U+200C/D) stay:
# they change how emoji and Indic scripts render.
_INVISIBLE = {"\u200b", "\u2060", "\ufeff", "\u00ad"}
# Embeddings, overrides and isolates reorder how text is displayed, so what a person reads is
# not what the model reads ("Trojan Source"). The plain marks (U+200E/F) stay: RTL text uses them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def normalize_text(text: str, *, max_chars: int = 512) -> tuple[str, list[str]]:
    """NFKC-normalise, drop control characters, collapse whitespace and cap the length.

    Returns the cleaned text and notes a user should see about what was changed.
    """
    if not isinstance(text, str):
        raise InputError(f"expected text (a string), got {type(text).__name__}", "text")
    notes: list[str] = []
    cleaned, removed, bidi = _strip_controls(unicodedata.normalize("NFKC", text))
    if bidi:
        notes.append(
            f"removed {_count(bidi, 'bidirectional override character')} from the text: "
            "they change the order in which it is displayed"
        )
    if removed:
        notes.append(f"removed {_count(removed, 'control character')} from the text")
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > max_chars:
        notes.append(
            f"text truncated to {group_thousands(max_chars)} characters "
            f"(was {group_thousands(len(cleaned))})"
        )
        cleaned = cleaned[:max_chars].rstrip()
    return cleaned, notes


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _strip_controls(text: str) -> tuple[str, int, int]:
    """The text without invisible and control characters, how many of those went, and how
    many of them were bidirectional controls."""
    kept: list[str] = []
    removed = bidi = 0
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif ch in _BIDI_CONTROLS:
            bidi += 1
        elif ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cs"):
            removed += 1
        else:
            kept.append(ch)
    return "".join(kept), removed, bidi


# What a text that normalises to nothing is told, from a file or typed.
NO_TEXT = "there is no text in it (only spaces or control characters)"


def load_text_file(
    path: str | Path, *, max_bytes: int = MAX_TEXT_FILE_BYTES, require_text: bool = False
) -> str:
    """Read a UTF-8 (or BOM-marked UTF-16) text file; anything else is refused with a reason.
    With ``require_text``, so is a file that holds only spaces or control characters."""
    label = source_label(path, None, "text file")
    with open_binary(path, label) as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(
            f"the file is larger than the {group_thousands(max_bytes)}-byte limit for text",
            label,
            kind=Kind.TOO_LARGE,
        )
    text = _decode_text(data, label)
    if require_text and not normalize_text(text)[0]:
        raise InputError(NO_TEXT, label)
    return text


def _decode_text(data: bytes, label: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
        if b"\x00" in data:
            raise InputError(
                "this looks like a binary file, not text", label, kind=Kind.UNRECOGNISED
            )
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the file is not valid {encoding.upper().replace('-SIG', '')} text "
            f"(undecodable byte 0x{data[exc.start]:02x} at position {exc.start}); "
            "save it as UTF-8 and try again",
            label,
            # Text in another encoding (Latin-1, Shift JIS) is valid, just not read here.
            kind=Kind.UNSUPPORTED,
        ) from None
