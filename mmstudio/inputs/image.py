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

# Lower than Pillow's own default (about 89 MP): a fusion model sees a few hundred pixels a side,
# so anything this large is either a mistake or a decompression bomb.
MAX_IMAGE_PIXELS = 40_000_000

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
) -> Image.Image:
    """Decode ``source`` (a path or the file's bytes) into a fully loaded RGB image.

    Raises InputError naming the file for anything that is not a readable, sane image.
    """
    label = source_label(source, name, "pasted image")
    with open_binary(source, label) as stream:
        image = _decode(stream, label, max_pixels)
        try:
            return to_rgb(image)
        except (OSError, ValueError, SyntaxError) as exc:
            raise InputError(f"the image cannot be converted to RGB ({exc})", label) from None


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


def _decode(stream: BinaryIO, label: str, max_pixels: int) -> Image.Image:
    # Pillow only warns between its limit and twice its limit; a bomb must never slip through.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(stream, formats=_allowed_formats())
            _check_pixels(image.size, max_pixels, label)
            # Image.open is lazy: only a full decode notices a truncated or corrupt body.
            image.load()
            return image
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InputError(_bomb_message(str(exc), max_pixels), label) from None
        except UnidentifiedImageError:
            raise InputError(_unidentified_message(stream), label) from None
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
            raise InputError(_decode_failure_message(exc), label) from None


@functools.cache
def _allowed_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(fmt for fmt in Image.OPEN if fmt not in _REFUSED_FORMATS)


def _check_pixels(size: tuple[int, int], max_pixels: int, label: str) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise InputError(f"the image has no pixels ({width} x {height})", label)
    if width * height > max_pixels:
        raise InputError(
            f"the image is {group_thousands(width)} x {group_thousands(height)} pixels, more than "
            f"the {group_thousands(max_pixels)}-pixel limit; it may be a decompression bomb",
            label,
        )


def _bomb_message(pillow_message: str, max_pixels: int) -> str:
    claimed = re.search(r"\((\d+) pixels\)", pillow_message)
    size = (
        f" (its header claims {group_thousands(int(claimed.group(1)))} pixels)" if claimed else ""
    )
    return (
        f"the image is larger than the {group_thousands(max_pixels)}-pixel limit{size}; "
        "it may be a decompression bomb"
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
