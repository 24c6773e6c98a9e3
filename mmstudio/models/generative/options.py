"""How a generative model decodes: greedy by default, or sampling with a seed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mmstudio.inputs.errors import InputError

MAX_NEW_TOKENS_LIMIT = 4096
# How the per-token maps are made: "" for each modality's default (maps.DEFAULT_METHODS, the
# method measured more faithful), or one method for every modality.
MAP_METHODS = ("", "attention", "occlusion")


@dataclass(frozen=True)
class GenerationOptions:
    """Greedy decoding unless ``do_sample``; then ``temperature`` and ``top_p`` shape the
    distribution and ``seed`` makes the draw repeatable. ``contrastive`` also generates the
    answers without each modality. ``map_method`` forces one map method for every modality
    ("attention" or "occlusion"; "" keeps each modality's default)."""

    max_new_tokens: int = 64
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0
    contrastive: bool = False
    map_method: str = ""

    def __post_init__(self) -> None:
        if not 1 <= int(self.max_new_tokens) <= MAX_NEW_TOKENS_LIMIT:
            raise InputError(
                f"max new tokens must be between 1 and {MAX_NEW_TOKENS_LIMIT}, "
                f"not {self.max_new_tokens}"
            )
        if self.do_sample and not self.temperature > 0:
            raise InputError(f"the temperature must be above 0, not {self.temperature}")
        if self.map_method not in MAP_METHODS:
            raise InputError(
                f"unknown map method {self.map_method!r}: choose attention or occlusion"
            )
        if not 0 < self.top_p <= 1:
            raise InputError(f"top-p must be above 0 and at most 1, not {self.top_p}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
