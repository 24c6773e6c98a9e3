"""The FusionModel protocol: what mmstudio needs from any model it explains.

A model either splits into ``preprocess`` / ``encode`` / ``fuse`` (encoders run once,
the fusion head runs per coalition: exact Shapley costs about one head pass), or
offers one ``coalition_logits`` call for models that cannot be split. See
docs/plugins.md for a worked example.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from mmstudio.inputs.sample import Sample


@runtime_checkable
class FusionModel(Protocol):
    name: str
    labels: list[str]
    # The modalities the model accepts, a subset of mmstudio.MODALITIES, in that order.
    modalities: tuple[str, ...]

    def to(self, device: torch.device) -> Any: ...

    def eval(self) -> Any: ...


@runtime_checkable
class SplitFusionModel(FusionModel, Protocol):
    def preprocess(self, samples: Sequence[Sample]) -> Any:
        """Model-ready inputs with a ``present`` (B, M) bool tensor and ``to(device)``."""

    def encode(self, batch: Any) -> Any:
        """Encoder outputs with a ``present`` (B, M) bool tensor."""

    def fuse(self, encoded: Any, presence: torch.Tensor) -> Any:
        """presence (B, K, M) -> an object with ``logits`` (B, K, C) and
        ``modality_weights`` (B, K, M) summing to 1 (or None if the model has none)."""


# A model that cannot be split offers instead (the Analyzer looks for it by name):
#   coalition_logits(samples, presence (B, K, M)) -> logits (B, K, C), each sample under each
#     coalition
# Optional, on either kind:
#   heatmaps(batch, encoded, output, predicted) -> list[mmstudio.explain.heatmaps.Heatmaps]
#     (a whole model gets its samples as ``batch`` and None as ``encoded``)
#   tokens_for(samples, row) -> list[str]  -- a whole model's text tokens, for its heatmaps
#   fusion_weights_kind: str  -- what the modality weights mean, shown in the window
