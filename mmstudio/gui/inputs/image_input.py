"""The image input: a drop zone with a preview, and Open, Paste and Clear."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mmstudio.gui.inputs import mime
from mmstudio.gui.inputs.file_loading import BackgroundLoader
from mmstudio.gui.inputs.qt_images import preview_image, preview_pixmap
from mmstudio.inputs import InputError, load_image

IMAGE_FILTER = (
    "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff *.ppm *.pgm);;All files (*)"
)
_HINT = "Drop an image here\n(a file, or a picture dragged from a browser)"


class DropZone(QLabel):
    """Shows the preview, or a hint; accepts files and raw image data."""

    dropped = Signal(QMimeData)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(_HINT, parent)
        self.setObjectName("imageDropZone")
        self.setAcceptDrops(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._pixmap: QPixmap | None = None
        self._set_hover(False)

    def sizeHint(self) -> QSize:
        return QSize(260, 170)

    def set_preview(self, pixmap: QPixmap | None) -> None:
        self._pixmap = pixmap
        if pixmap is None:
            self.setPixmap(QPixmap())
            self.setText(_HINT)
        else:
            self._rescale()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._pixmap is not None:
            self._rescale()

    def _rescale(self) -> None:
        size = self.contentsRect().size() - QSize(8, 8)
        ratio = self.devicePixelRatioF()
        scaled = self._pixmap.scaled(
            size * ratio,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        scaled.setDevicePixelRatio(ratio)
        self.setPixmap(scaled)

    def _set_hover(self, hovering: bool) -> None:
        border = "palette(highlight)" if hovering else "palette(mid)"
        self.setStyleSheet(
            f"#imageDropZone {{ border: 2px dashed {border}; border-radius: 6px;"
            " color: palette(placeholder-text); background: palette(base); }"
        )

    def dragEnterEvent(self, event) -> None:
        if mime.can_accept(event.mimeData(), "image"):
            self._set_hover(True)
            event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:
        self._set_hover(False)

    def dropEvent(self, event) -> None:
        self._set_hover(False)
        event.acceptProposedAction()
        self.dropped.emit(event.mimeData())


def _decode_for_view(source: str | Path | bytes, name: str | None) -> tuple:
    """Runs in a worker thread: the image, its preview and the name to show."""
    image = load_image(source, name=name)
    return image, preview_image(image), name or Path(source).name


class ImageInput(QWidget):
    """Emits ``image_changed`` with an RGB PIL image (or None when cleared).

    Files are decoded in the background (``loading_changed`` tells when); the newest load wins.
    Problems with a file are reported through ``error_occurred``; the current image stays.
    """

    image_changed = Signal(object)
    error_occurred = Signal(str)
    loading_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: Image.Image | None = None
        self.source_name = ""
        self.last_folder = ""
        self.loader = BackgroundLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self.error_occurred)
        self.loader.busy_changed.connect(self.loading_changed)
        self.drop_zone = DropZone()
        self.drop_zone.dropped.connect(self.load_mime)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open an image file (Ctrl+O)")
        self.open_button.clicked.connect(self.open_dialog)
        self.paste_button = QPushButton("Paste")
        self.paste_button.setToolTip("Paste an image or an image file from the clipboard (Ctrl+V)")
        self.paste_button.clicked.connect(self.paste)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.clear_button.setEnabled(False)
        buttons = QHBoxLayout()
        for button in (self.open_button, self.paste_button, self.clear_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.drop_zone, 1)
        layout.addLayout(buttons)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Image", self.last_folder, IMAGE_FILTER)
        if path:
            self.load_path(path)

    def load_path(self, path: str | Path) -> None:
        """Decode ``path`` in the background; ``image_changed`` or ``error_occurred`` follows."""
        path = Path(path)
        self.last_folder = str(path.parent)
        self.loader.start(lambda: _decode_for_view(path, None), path.name)

    def load_bytes(self, data: bytes, name: str) -> None:
        """Decode dropped or pasted image data in the background, like ``load_path``."""
        self.loader.start(lambda: _decode_for_view(data, name), name)

    @property
    def loading(self) -> bool:
        return self.loader.busy

    def _on_loaded(self, loaded: tuple) -> None:
        image, preview, name = loaded
        self._show(image, QPixmap.fromImage(preview), name)

    def load_mime(self, data: QMimeData) -> bool:
        """Start loading the image a drop or paste carries; False if it carries none."""
        try:
            payload = mime.image_payload(data)
        except InputError as error:
            self.error_occurred.emit(str(error))
            return False
        if payload is None:
            self.error_occurred.emit("there is no image on the clipboard or in what was dropped")
            return False
        if payload.path is not None:
            self.load_path(payload.path)
        else:
            self.load_bytes(payload.data, payload.name)
        return True

    def paste(self) -> bool:
        return self.load_mime(QGuiApplication.clipboard().mimeData())

    def set_image(self, image: Image.Image, name: str = "") -> None:
        self.loader.cancel()
        self._show(image, preview_pixmap(image), name)

    def _show(self, image: Image.Image, preview: QPixmap, name: str) -> None:
        self.image = image
        self.source_name = name
        self.drop_zone.set_preview(preview)
        self.drop_zone.setToolTip(f"{name} — {image.width} × {image.height} px" if name else "")
        self.clear_button.setEnabled(True)
        self.image_changed.emit(image)

    def clear(self) -> None:
        self.loader.cancel()
        if self.image is None:
            return
        self.image = None
        self.source_name = ""
        self.drop_zone.set_preview(None)
        self.drop_zone.setToolTip("")
        self.clear_button.setEnabled(False)
        self.image_changed.emit(None)

    def summary(self) -> str:
        if self.image is None:
            return "no image"
        return f"{self.source_name} · {self.image.width}×{self.image.height}"
