"""Load any common image file or byte string as an RGB PIL image, refusing bad input in words."""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ._source import group_thousands, open_binary, sniff, source_label
from .errors import InputError

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
        image, notes = _decode(stream, label, max_pixels, max_side)
        notes += _conversion_notes(image)
        try:
            rgb = to_rgb(image)
        except (OSError, ValueError, SyntaxError) as exc:
            raise InputError(f"the image cannot be converted to RGB ({exc})", label) from None
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
    stream: BinaryIO, label: str, max_pixels: int, max_side: int
) -> tuple[Image.Image, list[str]]:
    # Pillow only warns between its limit and twice its limit; a bomb must never slip through.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(stream, label, max_pixels)
        original = image.size
        _check_dimensions(original, label)
        # A JPEG decodes straight to 1/2, 1/4 or 1/8 of its size: most of a big photo's cost.
        image.draft(None, _fitted(original, max_side))
        # Checked outside the decode's error handling: too large is not "damaged".
        _check_pixels(original, image.size, max_pixels, label)
        try:
            # Image.open is lazy: only a full decode notices a truncated or corrupt body.
            image.load()
            image = _fit(image, max_side)
        except MemoryError:
            raise InputError(
                "the image is too large to decode in the available memory", label
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InputError(_decode_failure_message(exc), label) from None
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


def _open(stream: BinaryIO, label: str, max_pixels: int) -> Image.Image:
    try:
        return Image.open(stream, formats=_allowed_formats())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(_bomb_message(str(exc), max_pixels), label) from None
    except UnidentifiedImageError:
        raise InputError(_unidentified_message(stream), label) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise InputError(_decode_failure_message(exc), label) from None


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
        raise InputError(f"the image has no pixels ({width} x {height})", label)


def _check_pixels(
    original: tuple[int, int], decoded: tuple[int, int], max_pixels: int, label: str
) -> None:
    if decoded[0] * decoded[1] > max_pixels:
        raise InputError(
            f"the image is {_size_words(original)} pixels, more than the "
            f"{group_thousands(max_pixels)}-pixel limit; it may be a decompression bomb "
            "(save it smaller, or as a JPEG, which is read at reduced size)",
            label,
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


def _unidentified_message(stream: BinaryIO) -> str:
    kind = sniff(stream)
    if kind and kind.endswith("image"):
        return f"the file looks like {kind} but its header is damaged or incomplete; it may be truncated"
    looks = f" (it looks like {kind})" if kind else ""
    return f"this is not an image file Pillow can read{looks}"


def _decode_failure_message(exc: BaseException) -> str:
    detail = str(exc)
    if isinstance(exc, MemoryError):
        return "the image is too large to decode in the available memory"
    if isinstance(exc, EOFError) or "truncated" in detail.lower():
        return "the file ends early: it may be truncated"
    return f"the image data is damaged and cannot be decoded; the file may be truncated or corrupt ({detail})"


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
