"""Load any common image file or byte string as an RGB PIL image, refusing bad input in words."""

from __future__ import annotations

import functools
import io
import re
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, PngImagePlugin

from ._source import group_thousands, open_binary, sniff, source_label
from .errors import InputError
from .failures import Kind, decoder_reason, unsupported_line
from .guard import decoding
from .headers import bmp_variant

# Pixels actually decoded (after a JPEG's reduced-size decode): at 4 bytes a pixel that bounds
# the decode to 160 MB, and the later copies are made after the image is fitted to MAX_SIDE.
# A header claiming more than Pillow's own limit (about 89 MP) is refused as a possible
# decompression bomb before anything is decoded.
MAX_IMAGE_PIXELS = 40_000_000
# What the model and the view need at most: a fusion model sees a few hundred pixels a side, a
# screen shows at most this many, and heatmaps are computed at this size.
MAX_SIDE = 2048
_NOTES_KEY = "mmstudio.notes"

# EPS is decoded by running Ghostscript on the file's PostScript program: never for a drop.
_REFUSED_FORMATS = {"EPS"}
_ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}
_HIGH_DEPTH_MODES = {"I", "F"}
_NOMINAL_MAX = {"I": 65535.0, "F": 1.0}
# Enough for every header a failure message reads (a BMP's masks, a format's magic number).
_HEAD_BYTES = 512


def load_image(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    max_pixels: int = MAX_IMAGE_PIXELS,
    max_side: int = MAX_SIDE,
) -> Image.Image:
    """Decode ``source`` (a path or the file's bytes) into a fully loaded RGB image of at most
    ``max_side`` pixels a side; what a user should know about the reading is in image_notes().

    Raises InputError naming the file for anything that is not a readable, sane image.
    """
    label = source_label(source, name, "pasted image")
    with open_binary(source, label) as stream:
        head = stream.read(_HEAD_BYTES)
        stream.seek(0)
        opened: dict[str, str] = {}
        explain = functools.partial(_explain_failure, head, max_pixels, opened)
        with decoding(label, explain):
            image, notes = _decode(stream, label, max_pixels, max_side, opened)
            notes += _conversion_notes(image)
            rgb = to_rgb(image)
    rgb.info[_NOTES_KEY] = tuple(notes)
    return rgb


def image_notes(image: Image.Image | None) -> tuple[str, ...]:
    """What load_image noted about how ``image`` was read (reduced, for instance)."""
    return tuple(image.info.get(_NOTES_KEY, ())) if image is not None else ()


def to_rgb(image: Image.Image) -> Image.Image:
    """Orient by EXIF and flatten any mode to 8-bit RGB, compositing transparency on white."""
    image = _apply_orientation(image)
    if image.mode.startswith("I;16") or image.mode in _HIGH_DEPTH_MODES:
        return _stretch_to_8bit(image).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        return _composite_on_white(image)
    return image.convert("RGB")


def _decode(
    stream: BinaryIO, label: str, max_pixels: int, max_side: int, opened: dict[str, str]
) -> tuple[Image.Image, list[str]]:
    """Open, check and decode; ``opened`` learns the format Pillow recognised, for messages."""
    # Pillow only warns between its limit and twice its limit; a bomb must never slip through.
    # Its other warnings (a tag larger than the file) go to stderr, which the decoding guard
    # holds: they reach the log with the C decoders' messages, not the terminal.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(stream, formats=_allowed_formats())
        original = image.size
        opened["format"] = str(image.format)
        opened["size"] = _size_words(original)
        if isinstance(image, ImageFile.StubImageFile):
            # GRIB, BUFR, HDF5, WMF off Windows: recognised, decoded only by a handler.
            image.load()
        _check_dimensions(original, label)
        # A JPEG decodes straight to 1/2, 1/4 or 1/8 of its size: most of a big photo's cost.
        image.draft(None, _fitted(original, max_side))
        _check_pixels(original, image.size, max_pixels, label)
        # Image.open is lazy: only a full decode notices a truncated or corrupt body.
        image.load()
        image = _fit(image, max_side)
    notes = []
    if image.size != original:
        notes.append(
            f"the {_size_words(original)}-pixel image was reduced to {_size_words(image.size)} "
            "when it was read (the model and the view need no more)"
        )
    return image, notes


def _conversion_notes(image: Image.Image) -> list[str]:
    notes = []
    frames = getattr(image, "n_frames", 1)
    if isinstance(frames, int) and frames > 1:
        notes.append(f"the file holds {frames} frames (or pages); only the first was analysed")
    if image.mode.startswith("I;16") or image.mode in _HIGH_DEPTH_MODES:
        notes.append(
            "the image has more than 8 bits per pixel; its darkest to brightest values were "
            "mapped onto 8 bits"
        )
    return notes


def _fitted(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    if max(image.size) <= max_side:
        return image
    if image.mode in ("1", "P"):
        # Resizing a palette picks nearest pixels; blend in full colour instead.
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
    return image


def _size_words(size: tuple[int, int]) -> str:
    return f"{group_thousands(size[0])} x {group_thousands(size[1])}"


@functools.cache
def _allowed_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(fmt for fmt in Image.OPEN if fmt not in _REFUSED_FORMATS)


def _check_dimensions(size: tuple[int, int], label: str) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise InputError(
            f"the file is damaged: its header gives the image no pixels ({width} x {height})",
            label,
            kind=Kind.DAMAGED,
        )


def _check_pixels(
    original: tuple[int, int], decoded: tuple[int, int], max_pixels: int, label: str
) -> None:
    if decoded[0] * decoded[1] > max_pixels:
        raise InputError(
            f"the image is {_size_words(original)} pixels, more than the "
            f"{group_thousands(max_pixels)}-pixel limit; it may be a decompression bomb "
            "(save it smaller, or as a JPEG, which is read at reduced size)",
            label,
            kind=Kind.TOO_LARGE,
        )


def _bomb_message(pillow_message: str, max_pixels: int) -> str:
    claimed = re.search(r"\((\d+) pixels\)", pillow_message)
    size = (
        f" (its header claims {group_thousands(int(claimed.group(1)))} pixels)" if claimed else ""
    )
    return (
        f"the image is larger than the {group_thousands(max_pixels)}-pixel limit"
        f"{size}; it may be a decompression bomb"
    )


def _explain_failure(
    head: bytes,
    max_pixels: int,
    opened: dict[str, str],
    kind: Kind,
    exc: BaseException,
    said: str,
) -> tuple[Kind, str]:
    """The kind and the words for a decode that failed with ``exc``."""
    reason = decoder_reason(exc)
    bmp = bmp_variant(head)
    if bmp is not None and bmp.problem:
        return Kind.DAMAGED, f"the BMP file is damaged: {bmp.problem}"
    if kind is Kind.TOO_LARGE:
        return kind, _too_large_message(exc, reason, max_pixels, opened.get("size"))
    if kind is Kind.UNRECOGNISED:
        return _unidentified(head)
    if kind is Kind.UNSUPPORTED:
        variant = bmp.name if bmp is not None else unsupported_line(said) or reason
        what = f"an image in {opened['format']} format," if "format" in opened else _what(head)
        return kind, (
            f"the file is {what} in an unsupported variant ({variant}); the file may "
            "well be valid, but it cannot be read here: convert it to PNG or JPEG"
        )
    if isinstance(exc, EOFError) or "truncated" in reason.lower():
        return kind, "the file ends early: it may be truncated or damaged"
    return kind, (
        "the image data is damaged and cannot be decoded; the file may be truncated or "
        f"corrupt ({reason})"
    )


def _too_large_message(exc: BaseException, reason: str, max_pixels: int, size: str | None) -> str:
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return _bomb_message(reason, max_pixels)
    if isinstance(exc, MemoryError):
        pixels = f" ({size} pixels)" if size else ""
        return f"the image{pixels} is too large to decode in the available memory"
    limits = {
        "MAX_TEXT_CHUNK": PngImagePlugin.MAX_TEXT_CHUNK,
        "text chunks": PngImagePlugin.MAX_TEXT_MEMORY,
    }
    limit = next((value for key, value in limits.items() if key in reason), None)
    beyond = f"the {group_thousands(limit)}-byte limit" if limit else "a decoder's limit"
    return (
        f"the file is too large: its compressed data expands beyond {beyond} ({reason}); it "
        "may be a decompression bomb"
    )


def _unidentified(head: bytes) -> tuple[Kind, str]:
    kind = _sniff_head(head)
    if kind and kind.endswith("image"):
        return Kind.DAMAGED, (
            f"the file looks like {kind} but its header is damaged or incomplete; it may be "
            "truncated"
        )
    looks = f" (it looks like {kind})" if kind else ""
    return Kind.UNRECOGNISED, f"this is not an image file Pillow can read{looks}"


def _what(head: bytes) -> str:
    kind = _sniff_head(head)
    return kind if kind and kind.endswith("image") else "an image"


def _sniff_head(head: bytes) -> str | None:
    return sniff(io.BytesIO(head))


def _apply_orientation(image: Image.Image) -> Image.Image:
    # Broken EXIF must not cost the user the picture; it is then shown as stored.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ImageOps.exif_transpose(image) or image
    except (OSError, ValueError, SyntaxError, KeyError, TypeError):
        return image


def _composite_on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _stretch_to_8bit(image: Image.Image) -> Image.Image:
    """Map the values actually used onto 0..255, so a 12-bit scan or a depth map is not clipped."""
    values = np.asarray(image, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Image.new("L", image.size, 0)
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        # A flat image has no range of its own; place it within the mode's nominal range.
        top = _NOMINAL_MAX["F" if image.mode == "F" else "I"]
        level = np.clip(low / top, 0.0, 1.0) * 255.0
        return Image.new("L", image.size, int(round(level)))
    scaled = (np.nan_to_num(values, nan=low, posinf=high, neginf=low) - low) / (high - low)
    return Image.fromarray(np.round(scaled * 255.0).astype(np.uint8))
