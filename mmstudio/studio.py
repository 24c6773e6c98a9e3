"""The state of one studio window, without Qt: what the user has put in, which model and device
are chosen, and which analysis request the screen shows.

The window is a view over a :class:`Studio`: widgets write the inputs and switches here and
listen to its events (plain callbacks, see :class:`Event`). The request-id policy lives in
:class:`RequestLedger`: the latest request wins, a result older than the one on screen is
never shown, and an error is shown only when it belongs to the request whose outcome counts.
Everything here is testable without a display (tests/core/test_studio.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mmstudio import MODALITIES
from mmstudio.inputs import input_notes
from mmstudio.inputs.sample import AudioClip, Sample
from mmstudio.inputs.text import normalize_text
from mmstudio.models.registry import DEFAULT_MODEL

T = TypeVar("T")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class Event(Generic[T]):
    """A list of callbacks called in order with one value: the studio's observer hook."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], Any]] = []

    def connect(self, callback: Callable[[T], Any]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[T], Any]) -> None:
        self._callbacks.remove(callback)

    def emit(self, value: T) -> None:
        for callback in list(self._callbacks):
            callback(value)


@dataclass(frozen=True)
class PendingRequest:
    """An analysis request sent and not answered yet."""

    request_id: int
    sample: Sample
    sent_at: float


class RequestLedger:
    """Which requests are outstanding, which result is on screen, which error counts.

    Ids increase with every request. The worker drops queued requests that a newer one
    replaced, but finishes the one it is running; showing that result even when a newer
    request waits means a steady stream of requests still shows fresh results.
    """

    def __init__(self) -> None:
        self._pending: dict[int, PendingRequest] = {}
        self.shown_id = 0
        self.latest_id = 0
        # Results of requests up to this id do not clear the error shown (they were sent
        # before the problem happened).
        self.error_floor = 0

    def sent(self, request_id: int, sample: Sample, at: float | None = None) -> None:
        self.latest_id = max(self.latest_id, request_id)
        self._pending[request_id] = PendingRequest(
            request_id, sample, time.perf_counter() if at is None else at
        )

    def accept_result(self, request_id: int) -> PendingRequest | None:
        """The request to show for this result, or None when it must not be shown (cancelled,
        or older than what is on screen). This request and every older one are then done."""
        request = self._pending.get(request_id)
        if request is None or request_id <= self.shown_id:
            return None
        self._forget_up_to(request_id)
        self.shown_id = request_id
        return request

    def pending(self, request_id: int) -> PendingRequest | None:
        """The request still outstanding under this id, if any."""
        return self._pending.get(request_id)

    def accept_error(self, request_id: int) -> bool:
        """Whether an analysis error should be shown: only the newest request's own outcome
        counts, since a newer request is on its way otherwise."""
        self._forget_up_to(request_id)
        return request_id == self.latest_id

    def clears_error(self, request_id: int) -> bool:
        return request_id > self.error_floor

    def error_shown(self) -> None:
        self.error_floor = self.latest_id

    def cancel_all(self, latest_id: int | None = None) -> None:
        """The inputs went empty: nothing outstanding may be shown any more."""
        self._pending.clear()
        if latest_id is not None:
            self.latest_id = max(self.latest_id, latest_id)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def _forget_up_to(self, request_id: int) -> None:
        self._pending = {k: v for k, v in self._pending.items() if k > request_id}


@dataclass(frozen=True)
class Example:
    """What a loaded example promises: the label it should get and a note about it."""

    expected: str | None
    note: str


class Studio:
    """Inputs, modality switches, the chosen model and device, and the request ledger.

    Events (callbacks get one value):
        inputs_changed(modality or None): an input or switch changed; None after a batch.
        model_chosen(spec), device_chosen(device): what the user picked.
    While :meth:`batch` is open (an example or a snapshot replacing every input),
    ``inputs_changed`` is held back and sent once when the batch ends.
    """

    def __init__(self, model: str | None = None, device: str = "auto") -> None:
        self.image: Any | None = None  # a PIL image, validated when it was loaded
        self.text = ""
        self.audio: AudioClip | None = None
        self.enabled: dict[str, bool] = dict.fromkeys(MODALITIES, True)
        self.model_spec = str(model) if model else DEFAULT_MODEL
        self.device = device
        self.example: Example | None = None
        self.requests = RequestLedger()
        self.inputs_changed: Event[str | None] = Event()
        self.model_chosen: Event[str] = Event()
        self.device_chosen: Event[str] = Event()
        self._batch_depth = 0
        self._changed_in_batch = False

    # ---- inputs -------------------------------------------------------------------------------

    def set_image(self, image) -> None:
        self.image = image
        self._changed("image")

    def set_text(self, text: str) -> None:
        self.text = text
        self._changed("text")

    def set_audio(self, clip: AudioClip | None) -> None:
        self.audio = clip
        self._changed("audio")

    def set_enabled(self, modality: str, on: bool) -> None:
        if modality not in self.enabled:
            raise KeyError(modality)
        self.enabled[modality] = bool(on)
        # A switch changes what is analysed, not what the user gave: an example stays one.
        self._notify(modality)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Replace several inputs as one change: one ``inputs_changed``, one analysis."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0 and self._changed_in_batch:
                self._changed_in_batch = False
                self.inputs_changed.emit(None)

    @property
    def in_batch(self) -> bool:
        return self._batch_depth > 0

    def load_example(self, expected: str | None, note: str) -> None:
        """Mark the current inputs as an example (call inside the batch that loads it)."""
        self.example = Example(expected, note)

    def any_input(self) -> bool:
        return self.image is not None or bool(self.text.strip()) or self.audio is not None

    def sample(self) -> Sample:
        """The inputs that are switched on. The image and the clip were validated when loaded,
        so they go in as they are (make_sample would convert the image on every keystroke)."""
        text, notes = None, []
        if self.enabled["text"] and self.text.strip():
            text, notes = normalize_text(self.text)
        image = self.image if self.enabled["image"] else None
        audio = self.audio if self.enabled["audio"] else None
        return Sample(image=image, text=text, audio=audio, notes=input_notes(image, notes, audio))

    def idle_reason(self) -> str:
        """Why nothing is analysed when the sample is empty."""
        if not self.any_input():
            return "Drop an image, type some text or record audio\nto see what the model predicts."
        return "Every input is switched off.\nSwitch one on to analyse it."

    # ---- model and device ---------------------------------------------------------------------

    def choose_model(self, spec: str) -> None:
        self.model_spec = str(spec)
        self.model_chosen.emit(self.model_spec)

    def choose_device(self, device: str) -> None:
        if device not in DEVICE_CHOICES:
            raise ValueError(
                f"unknown device {device!r} (choose one of {', '.join(DEVICE_CHOICES)})"
            )
        self.device = device
        self.device_chosen.emit(device)

    # ---- internals ----------------------------------------------------------------------------

    def _changed(self, modality: str) -> None:
        if not self.in_batch:
            self.example = None  # edited by hand: no longer the example's sample
        self._notify(modality)

    def _notify(self, modality: str) -> None:
        if self.in_batch:
            self._changed_in_batch = True
        else:
            self.inputs_changed.emit(modality)
