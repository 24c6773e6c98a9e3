"""A generation's tokens on their way from the worker to the window, never more than one
delivery queued at a time.

The worker adds every token as the model chooses it; the first token since the window last
took the stream asks for a delivery, later ones just join it. The window takes everything that
arrived when the delivery runs. However fast a model generates, the GUI thread's event queue
holds at most one token delivery, each showing every token so far: the event loop is never
flooded, and no token is lost or shown out of order. No Qt here: the service posts the
delivery.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StreamedTokens:
    """The answer so far of request ``request_id``: ``pieces`` are its tokens as they read (they
    concatenate to the decoded text), ``index`` the last one's."""

    request_id: int
    pieces: tuple[str, ...]

    @property
    def index(self) -> int:
        return len(self.pieces) - 1

    @property
    def text(self) -> str:
        return "".join(self.pieces)


class TokenStream:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._request_id = 0
        self._ids: list[int] = []
        self._pieces: list[str] = []
        self._text = ""
        self._decode: Callable[[Sequence[int]], str] | None = None
        self._posted = False

    def begin(self, request_id: int, decode: Callable[[Sequence[int]], str]) -> None:
        """A new generation (worker thread): ``decode(ids)`` is the model's text of ids. A
        delivery still queued for the previous one stays queued, and brings this one's tokens."""
        with self._lock:
            self._request_id = request_id
            self._ids, self._pieces, self._text = [], [], ""
            self._decode = decode

    def add(self, token_id: int) -> bool:
        """One more token (worker thread). True when a delivery must be posted for it."""
        ids = [*self._ids, int(token_id)]
        # Decoded outside the lock: the window never waits for the tokenizer. A piece is what
        # the text grew by, as ``GenerativeModel.token_texts`` splits the final answer, so a
        # character made of two byte-level tokens shows with the token that completes it.
        text = self._decode(ids) if self._decode is not None else ""
        piece = text[len(self._text) :] if text.startswith(self._text) else text
        with self._lock:
            self._ids, self._text = ids, text
            self._pieces.append(piece)
            wanted = not self._posted
            self._posted = True
            return wanted

    def take(self) -> StreamedTokens | None:
        """Everything so far (GUI thread), or None when nothing new arrived since the last take."""
        with self._lock:
            if not self._posted:
                return None
            self._posted = False
            if not self._pieces:
                return None  # a new generation began after the delivery was posted
            return StreamedTokens(self._request_id, tuple(self._pieces))
