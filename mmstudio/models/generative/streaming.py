"""Hooks into transformers' ``generate``: each new token as it is chosen, and a stop between
steps."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from transformers.generation.stopping_criteria import StoppingCriteria
from transformers.generation.streamers import BaseStreamer


class TokenStreamer(BaseStreamer):
    """Passes every generated token id to ``on_token``. ``generate`` first puts the prompt,
    which is skipped."""

    def __init__(self, on_token: Callable[[int], None] | None):
        self.on_token = on_token
        self.first_token_at: float | None = None
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        if self.on_token is not None:
            for token in value.reshape(-1).tolist():
                self.on_token(int(token))

    def end(self) -> None:
        pass


class StopWhen(StoppingCriteria):
    """Ends generation after the current step once ``should_stop()`` says so."""

    def __init__(self, should_stop: Callable[[], bool] | None):
        self.should_stop = should_stop
        self.stopped = False

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        if self.should_stop is not None and self.should_stop():
            self.stopped = True
        return torch.full(
            (input_ids.shape[0],), self.stopped, dtype=torch.bool, device=input_ids.device
        )
