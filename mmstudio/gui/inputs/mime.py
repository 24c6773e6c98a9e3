"""What a drop or a paste carries: a local file, raw image data from a browser, or text.

Browsers drag a picture as a web address plus (often) the image bytes themselves; we use the
bytes and never download anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QImage

from mmstudio.gui.inputs.qt_images import qimage_to_png_bytes
from mmstudio.inputs.errors import InputError

IMAGE_SUFFIXES = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".bmp",
        ".gif",
        ".webp",
        ".tif",
        ".tiff",
        ".ppm",
        ".pgm",
        ".pbm",
        ".ico",
        ".tga",
    }
)
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif"})
TEXT_SUFFIXES = frozenset({".txt", ".md"})

_WEB_ADDRESS = (
    "this is a web address ({url}); mmstudio does not download files. Save the file first and "
    "drop it from your disk, or drag the picture itself rather than its link"
)


@dataclass(frozen=True)
class Payload:
    """One droppable thing. Exactly one of ``path``, ``data`` and ``text`` is set."""

    kind: str  # "image", "audio" or "text"
    name: str
    path: str | None = None
    data: bytes | None = None
    text: str | None = None


def local_files(mime: QMimeData) -> list[Path]:
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def kind_of_path(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    if suffix in TEXT_SUFFIXES:
        return "text"
    return None


def can_accept(mime: QMimeData, kind: str) -> bool:
    """Whether a drag should be accepted by a target for ``kind`` (checked cheaply, on hover)."""
    if kind == "image" and (mime.hasImage() or _raw_image_format(mime)):
        return True
    files = local_files(mime)
    if files:
        # An unknown suffix is still accepted: the loader then says precisely what is wrong.
        return any(kind_of_path(f) in (kind, None) for f in files)
    return kind == "image" and mime.hasUrls()


def image_payload(mime: QMimeData) -> Payload | None:
    """The image a drop or paste carries, or None if it carries none at all.

    Raises InputError for a link to a web image without the image data itself.
    """
    for path in local_files(mime):
        if kind_of_path(path) in ("image", None):
            return Payload("image", path.name, path=str(path))
    raw = _raw_image_format(mime)
    if raw:
        return Payload("image", "dropped image", data=bytes(mime.data(raw).data()))
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return Payload("image", "pasted image", data=qimage_to_png_bytes(image))
    remote = [url for url in mime.urls() if not url.isLocalFile()]
    if remote:
        raise InputError(_WEB_ADDRESS.format(url=remote[0].toString()))
    return None


def audio_payload(mime: QMimeData) -> Payload | None:
    for path in local_files(mime):
        if kind_of_path(path) in ("audio", None):
            return Payload("audio", path.name, path=str(path))
    remote = [url for url in mime.urls() if not url.isLocalFile()]
    if remote:
        raise InputError(_WEB_ADDRESS.format(url=remote[0].toString()))
    return None


def route(mime: QMimeData) -> Payload | None:
    """For a drop on the window (not on a card): whatever the data is, send it to its input."""
    for path in local_files(mime):
        kind = kind_of_path(path)
        if kind == "text":
            return Payload("text", path.name, path=str(path))
        if kind is not None:
            return Payload(kind, path.name, path=str(path))
    if mime.hasImage() or _raw_image_format(mime) or mime.hasUrls():
        return image_payload(mime)
    if mime.hasText() and mime.text().strip():
        return Payload("text", "dropped text", text=mime.text())
    return None


def _raw_image_format(mime: QMimeData) -> str | None:
    for fmt in mime.formats():
        if fmt.startswith("image/") and fmt != "image/svg+xml" and mime.data(fmt).size() > 0:
            return fmt
    return None
