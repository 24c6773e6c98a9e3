"""The window's inputs column: the image, text and audio cards, and everything that fills them.

A file dropped anywhere on the window, a paste, an example from the menu, a row clicked in the
Dataset view, a kept swap and a live snapshot all end here, as the three widgets' contents; the
widgets write what they hold into the Qt-free :class:`mmstudio.studio.Studio`, which decides
when an analysis is due. Several inputs that change at once (an example) change inside one
``studio.batch()``, so they cause one analysis, not three.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from mmstudio.gui.inputs import mime
from mmstudio.gui.inputs.audio_input import AudioInput
from mmstudio.gui.inputs.card import ModalityCard
from mmstudio.gui.inputs.examples import DecodedExample, Example, decode_example
from mmstudio.gui.inputs.file_loading import BackgroundLoader
from mmstudio.gui.inputs.image_input import ImageInput
from mmstudio.gui.inputs.text_input import TextInput
from mmstudio.inputs import InputError, Sample
from mmstudio.studio import Studio

__all__ = ["InputsColumn"]


class InputsColumn(QScrollArea):
    """The three modality cards in a column that scrolls on short screens.

    ``error_occurred`` carries every problem with an input (a damaged file, an example whose
    file is missing, nothing usable in a drop) for the window to show.
    """

    error_occurred = Signal(str)

    def __init__(self, studio: Studio, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio = studio
        self.image_input = ImageInput()
        self.text_input = TextInput()
        self.audio_input = AudioInput(defer_plot=True)
        self.record_loader = BackgroundLoader(self)  # a Dataset view row's files
        self.image_card = ModalityCard("image", "Image")
        self.image_card.body.addWidget(self.image_input)
        self.text_card = ModalityCard("text", "Text")
        self.text_card.body.addWidget(self.text_input)
        self.audio_card = ModalityCard("audio", "Audio")
        self.audio_card.body.addWidget(self.audio_input)
        self.cards = {"image": self.image_card, "text": self.text_card, "audio": self.audio_card}
        self._lay_out()
        self._connect()
        self.update_summaries()

    def _lay_out(self) -> None:
        column = QWidget()
        column.setObjectName("inputsColumn")
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(8)
        layout.addWidget(self.image_card, 3)
        layout.addWidget(self.text_card, 0)
        layout.addWidget(self.audio_card, 0)
        # Short screens scroll the inputs rather than squeezing the preview to nothing.
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(column)
        scrollbar = self.verticalScrollBar().sizeHint().width()
        self.setMinimumWidth(column.minimumSizeHint().width() + scrollbar)

    def _connect(self) -> None:
        studio = self.studio
        self.image_input.image_changed.connect(studio.set_image)
        self.text_input.text_changed.connect(studio.set_text)
        self.audio_input.clip_changed.connect(studio.set_audio)
        self.audio_input.recording_changed.connect(lambda _recording: self.update_summaries())
        for widget in (self.image_input, self.text_input, self.audio_input):
            widget.error_occurred.connect(self.error_occurred)
        for name, card in self.cards.items():
            card.enabled_changed.connect(lambda on, n=name: studio.set_enabled(n, on))
        self.record_loader.loaded.connect(self._show_example)
        self.record_loader.failed.connect(self.error_occurred)
        # Connected before the window's analysis request: the summaries are current by then.
        studio.inputs_changed.connect(lambda _modality: self.update_summaries())

    # Once the window is on screen

    def start(self) -> None:
        """The slow parts, once the window has painted: the audio plot (pyqtgraph)."""
        self.audio_input.build_plot()

    def probe_microphones(self) -> None:
        self.audio_input.refresh_microphones()

    def shutdown(self) -> None:
        self.audio_input.shutdown()

    # What the cards say

    def update_summaries(self) -> None:
        self.image_card.set_summary(self.image_input.summary())
        self.text_card.set_summary(self.text_input.summary())
        self.audio_card.set_summary(self.audio_input.summary())

    def live_text(self) -> str | None:
        """The typed text, which joins every live analysis while its card is switched on."""
        return self.text_input.text() if self.text_card.use_input else None

    def folder(self, modality: str) -> str:
        """Where the last image or audio file was opened from (file dialogs start there)."""
        return self.audio_input.last_folder if modality == "audio" else self.image_input.last_folder

    # Drops and paste

    @staticmethod
    def can_accept(data: QMimeData) -> bool:
        return (
            data.hasUrls()
            or data.hasImage()
            or data.hasText()
            or any(f.startswith("image/") for f in data.formats())
        )

    def paste(self) -> None:
        self.accept_payload(QGuiApplication.clipboard().mimeData(), "the clipboard")

    def accept_payload(self, data: QMimeData, origin: str) -> None:
        """A drop or a paste goes to the input it suits: an image, an audio file, or text."""
        try:
            payload = mime.route(data)
        except InputError as error:
            self.error_occurred.emit(str(error))
            return
        if payload is None:
            self.error_occurred.emit(f"there is nothing mmstudio can use in {origin}")
        elif payload.kind == "image":
            self.image_input.load_mime(data)
        elif payload.kind == "audio":
            self.audio_input.load_path(payload.path)
        elif payload.path is not None:
            self.text_input.load_path(payload.path)
        else:
            self.text_input.editor.insertPlainText(payload.text)

    # Whole samples: examples, dataset records, swaps, live snapshots

    def load_example(self, example: Example) -> None:
        """Replace all three inputs at once, then run one analysis (not three). The bundled
        examples are small: they are decoded here."""
        self.record_loader.cancel()
        self._show_example(decode_example(example))

    def open_record(self, record: dict, dataset_name: str) -> None:
        """A Dataset view row becomes the inputs, like an example. A dataset's files may be
        large: they are decoded in the file-loading pool, not here."""
        example = Example(
            name=f"{record.get('id')} from {dataset_name}",
            image=Path(record["image_path"]) if record.get("image_path") else None,
            audio=Path(record["audio_path"]) if record.get("audio_path") else None,
            text=record.get("text"),
            expected=record.get("label"),
            note="",
        )
        self.record_loader.start(lambda: decode_example(example), str(example.name))

    def _show_example(self, decoded: DecodedExample) -> None:
        example = decoded.example
        for problem in decoded.problems:
            self.error_occurred.emit(problem)
        with self.studio.batch():
            loaded = not decoded.problems
            if decoded.image is not None:
                self.image_input.set_image(decoded.image, example.image.name)
            else:
                self.image_input.clear()
            self.text_input.set_text(example.text or "", notify=False)
            if decoded.audio is not None:
                self.audio_input.set_clip(decoded.audio, example.audio.name)
            else:
                self.audio_input.clear()
            for name, card in self.cards.items():
                card.switch.blockSignals(True)
                card.set_use_input(True)
                card.switch.blockSignals(False)
                self.studio.set_enabled(name, True)
            self._mirror_inputs()
            note = f"Example “{example.name}”: {example.note}" if example.note else ""
            self.studio.load_example(example.expected if loaded else None, note)

    def adopt(self, modality: str, value, name: str) -> None:
        """A kept swap's modality (or, on undo, the original) becomes that input."""
        if modality == "text":
            self.text_input.set_text(value or "")
        elif value is None:
            (self.image_input if modality == "image" else self.audio_input).clear()
        elif modality == "image":
            self.image_input.set_image(value, name)
        else:
            self.audio_input.set_clip(value, name)

    def take_snapshot(self, sample: Sample) -> None:
        """The frozen frame and audio window become the inputs, analysed like any other."""
        with self.studio.batch():
            if sample.image is not None:
                self.image_input.set_image(sample.image, "live snapshot")
            else:
                self.image_input.clear()
            if sample.audio is not None:
                self.audio_input.set_clip(sample.audio, "live snapshot")
            else:
                self.audio_input.clear()
            self._mirror_inputs()
            self.studio.example = None

    def _mirror_inputs(self) -> None:
        """Copy what the input widgets hold into the studio (inside a batch)."""
        self.studio.set_image(self.image_input.image)
        self.studio.set_text(self.text_input.text())
        self.studio.set_audio(self.audio_input.clip)
