"""Inputs and small models made by the tests themselves, and ways to drive the window."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image, ImageDraw

DIGIT_LABELS = [str(i) for i in range(10)]


def save_tiny_model(folder: Path) -> Path:
    import torch

    from mmstudio.models import FusionConfig, FusionNet, save_checkpoint

    torch.manual_seed(0)
    config = FusionConfig(
        labels=DIGIT_LABELS,
        dim=32,
        fusion_heads=2,
        text_heads=2,
        text_layers=1,
        tensor_rank_dim=4,
        name="tiny-random",
        description="random weights, for tests",
    )
    return save_checkpoint(FusionNet(config).eval(), folder / "tiny")


def digit_image(text: str = "7", size: tuple[int, int] = (96, 120)) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((size[0] // 3, size[1] // 4), text, fill="black", font_size=60)
    return image


def tone(seconds: float = 1.0, frequency: float = 440.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.minimum(1.0, np.minimum(t, seconds - t) * 20)
    return (0.4 * envelope * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def write_input_files(folder: Path) -> SimpleNamespace:
    from mmstudio.inputs import AudioClip, save_wav

    files = SimpleNamespace(
        image=folder / "seven.png",
        other_image=folder / "three.jpg",
        audio=folder / "tone.wav",
        long_audio=folder / "long.wav",
        corrupt_image=folder / "broken.png",
        corrupt_audio=folder / "broken.wav",
        text=folder / "note.txt",
    )
    digit_image("7").save(files.image)
    digit_image("3", (140, 100)).save(files.other_image)
    save_wav(AudioClip(tone(1.0), 16000), files.audio)
    quiet = np.zeros(16000 * 3, dtype=np.float32)
    quiet[20000:36000] = tone(1.0, 300.0)
    save_wav(AudioClip(quiet, 16000), files.long_audio)
    files.corrupt_image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    files.corrupt_audio.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    files.text.write_text("I think it is a seven\n", encoding="utf-8")
    return files


def drop(widget, mime, qtbot=None) -> None:
    """Drag ``mime`` over ``widget`` and drop it, as a person's drag and drop would."""
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    # QDragEnterEvent takes an integer QPoint, QDropEvent a QPointF (PySide6 6.11 is strict).
    centre = QPointF(widget.rect().center())
    enter = QDragEnterEvent(
        widget.rect().center(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), "the widget refused the drag"
    event = QDropEvent(
        centre,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def file_mime(*paths: Path):
    from PySide6.QtCore import QMimeData, QUrl

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime
