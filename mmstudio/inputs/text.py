"""Normalise typed or pasted text and read text files, so tokenizers see clean, bounded input."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

from ._source import group_thousands, open_binary, source_label
from .errors import InputError

MAX_TEXT_FILE_BYTES = 1_000_000

# Invisible format characters that only ever get in a tokenizer's way. Joiners (U+200C/D) stay:
# they change how emoji and Indic scripts render.
_INVISIBLE = {"\u200b", "\u2060", "\ufeff", "\u00ad"}


def normalize_text(text: str, *, max_chars: int = 512) -> tuple[str, list[str]]:
    """NFKC-normalise, drop control characters, collapse whitespace and cap the length.

    Returns the cleaned text and notes a user should see about what was changed.
    """
    if not isinstance(text, str):
        raise InputError(f"expected text (a string), got {type(text).__name__}", "text")
    notes: list[str] = []
    cleaned, removed = _strip_controls(unicodedata.normalize("NFKC", text))
    if removed:
        noun = "character" if removed == 1 else "characters"
        notes.append(f"removed {removed} control {noun} from the text")
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > max_chars:
        notes.append(
            f"text truncated to {group_thousands(max_chars)} characters "
            f"(was {group_thousands(len(cleaned))})"
        )
        cleaned = cleaned[:max_chars].rstrip()
    return cleaned, notes


def _strip_controls(text: str) -> tuple[str, int]:
    kept: list[str] = []
    removed = 0
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cs"):
            removed += 1
        else:
            kept.append(ch)
    return "".join(kept), removed


def load_text_file(path: str | Path, *, max_bytes: int = MAX_TEXT_FILE_BYTES) -> str:
    """Read a UTF-8 (or BOM-marked UTF-16) text file; anything else is refused with a reason."""
    label = source_label(path, None, "text file")
    with open_binary(path, label) as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(
            f"the file is larger than the {group_thousands(max_bytes)}-byte limit for text", label
        )
    return _decode_text(data, label)


def _decode_text(data: bytes, label: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
        if b"\x00" in data:
            raise InputError("this looks like a binary file, not text", label)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the file is not valid {encoding.upper().replace('-SIG', '')} text "
            f"(undecodable byte 0x{data[exc.start]:02x} at position {exc.start}); "
            "save it as UTF-8 and try again",
            label,
        ) from None
