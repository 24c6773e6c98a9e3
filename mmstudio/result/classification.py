"""The classification part of an analysis: a label, its probability, and why."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from mmstudio.result.common import (
    CLASSIFICATION,
    JSON_HEATMAP_SIDE,
    AnalysisCommon,
    NonFiniteAnalysisError,
    arrays_from_lists,
    strict_json,
)

__all__ = ["JSON_HEATMAP_SIDE", "Analysis", "NonFiniteAnalysisError"]

_ARRAY_FIELDS = (
    "probabilities",
    "image_heatmap",
    "token_weights",
    "spectrogram",
    "audio_heatmap",
    "fusion_attention",
    "coalition_values",
    "embedding",
)

# The value function is computed in float64 so that the Shapley values add up exactly (to
# 1e-12, not float32's 1e-7); a round trip must not round the coalitions behind them.
_ARRAY_DTYPES = {"coalition_values": np.float64}


@dataclass(kw_only=True)
class Analysis(AnalysisCommon):
    """The result of ``Analyzer.analyze`` for a classifier.

    Shapes:
        probabilities: (C,) summing to 1, in the order of ``labels``.
        image_heatmap: (H, W) in [0, 1] (in [-1, 1] when "image" is in ``signed_maps``, as
            for every map below), the size of the image as loaded (load_image reduces
            larger images to at most 2048 pixels a side, with a note). ``to_dict`` and
            ``to_json`` shrink it to at most JSON_HEATMAP_SIDE pixels a side (same aspect
            ratio) unless asked for ``full_heatmaps``.
        token_weights: (T,) in [0, 1], one per entry of ``tokens``.
        spectrogram: (n_mels, frames) log-mel of the audio, in dB.
        audio_heatmap: (n_mels, frames) in [0, 1], aligned with ``spectrogram``.
        fusion_attention: (N,) the fusion query's attention over every token fed to
            the fusion head; ``fusion_attention_modalities`` names each token's modality.

    ``shapley`` holds exact Shapley values of the modalities present for the value
    function "log-probability of the predicted class"; ``shapley_base`` is that value
    with every modality absent, so ``shapley_base + sum(shapley.values()) == full_score``.
    ``interactions`` holds exact interaction indices of the modalities present, from the same
    coalition values: per index name (``explain.interactions.INDICES``), subsets joined by
    "+" ("image+audio") -> value; positive is synergy, negative redundancy.
    ``alone_predictions`` is the label each present modality gives on its own, and
    ``conflict`` how much their distributions disagree (mean pairwise Jensen-Shannon
    divergence in bits, 0 to 1; None with one modality): see ``explain.conflict``.
    ``heatmap_method`` says how the image and audio maps were made, ``text_heatmap_method``
    how the text map was.
    ``fusion_weights`` is what the model itself weighted each modality by (attention
    mass or gate), summing to 1: what it attended to, not what changed the answer.

    ``coalition_values`` (K,) is that value function under every coalition of
    ``modalities``, in the order of ``explain.shapley.coalition_masks`` (empty first, full
    last), and ``coalition_predictions`` (K,) the class each coalition predicts: every
    ablation of the modalities, for free. A coalition naming a modality the sample lacks
    equals the one without it. ``embedding`` (D,) is the fused pre-logit vector of the
    full input, None for models without one.
    """

    task: ClassVar[str] = CLASSIFICATION

    labels: list[str]
    probabilities: np.ndarray
    predicted_index: int
    fusion_weights: dict[str, float]
    fusion_weights_kind: str
    shapley: dict[str, float]
    shapley_base: float
    full_score: float
    coalition_values: np.ndarray | None = None
    coalition_predictions: list[int] = field(default_factory=list)
    embedding: np.ndarray | None = None
    interactions: dict[str, dict[str, float]] = field(default_factory=dict)
    alone_predictions: dict[str, str] = field(default_factory=dict)
    conflict: float | None = None
    image_heatmap: np.ndarray | None = None
    tokens: list[str] = field(default_factory=list)
    token_weights: np.ndarray | None = None
    spectrogram: np.ndarray | None = None
    audio_heatmap: np.ndarray | None = None
    spectrogram_hop_seconds: float | None = None
    fusion_attention: np.ndarray | None = None
    fusion_attention_modalities: list[str] = field(default_factory=list)
    heatmap_method: str = ""
    text_heatmap_method: str = ""
    # The maps ("image", "text", "audio") whose method is signed: in [-1, 1], negative for
    # evidence against the prediction. The others are unsigned, in [0, 1].
    signed_maps: list[str] = field(default_factory=list)

    @property
    def predicted_label(self) -> str:
        return self.labels[self.predicted_index]

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.predicted_index])

    def top_k(self, k: int = 5) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities)[:k]
        return [(self.labels[i], float(self.probabilities[i])) for i in order]

    def to_dict(self, *, full_heatmaps: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"task": self.task}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "image_heatmap" and value is not None and not full_heatmaps:
                value = _shrunk(value, JSON_HEATMAP_SIDE)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            out[f.name] = value
        out["predicted_label"] = self.predicted_label
        return out

    def to_json(self, indent: int | None = 2, *, full_heatmaps: bool = False) -> str:
        """Strict JSON: a non-finite number raises NonFiniteAnalysisError, never writes ``NaN``."""
        return strict_json(self.to_dict(full_heatmaps=full_heatmaps), indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        return cls(**arrays_from_lists(kwargs, _ARRAY_FIELDS, _ARRAY_DTYPES))


def _shrunk(heatmap: np.ndarray, side: int) -> np.ndarray:
    """``heatmap`` area-averaged to at most ``side`` pixels a side, keeping its aspect ratio."""
    height, width = heatmap.shape
    scale = side / max(height, width)
    if scale >= 1.0:
        return heatmap
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    picture = Image.fromarray(np.ascontiguousarray(heatmap, dtype=np.float32))  # mode "F"
    return np.asarray(picture.resize(size, Image.Resampling.BOX), dtype=np.float32)
