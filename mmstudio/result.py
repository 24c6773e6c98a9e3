"""Analysis: everything one run of a model over one Sample produced.

Plain numpy arrays and floats only, so the GUI, the CLI and tests can use it
without torch, and it round-trips through JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

_ARRAY_FIELDS = (
    "probabilities",
    "image_heatmap",
    "token_weights",
    "spectrogram",
    "audio_heatmap",
    "fusion_attention",
)


@dataclass
class Analysis:
    """The result of ``Analyzer.analyze``.

    Shapes:
        probabilities: (C,) summing to 1, in the order of ``labels``.
        image_heatmap: (H, W) in [0, 1], H and W those of the original input image.
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
    """

    labels: list[str]
    probabilities: np.ndarray
    predicted_index: int
    modalities: list[str]
    present: list[str]
    fusion_weights: dict[str, float]
    fusion_weights_kind: str
    shapley: dict[str, float]
    shapley_base: float
    full_score: float
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
    timings_ms: dict[str, float] = field(default_factory=dict)
    model_name: str = ""
    device: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def predicted_label(self) -> str:
        return self.labels[self.predicted_index]

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.predicted_index])

    def top_k(self, k: int = 5) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities)[:k]
        return [(self.labels[i], float(self.probabilities[i])) for i in order]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            out[f.name] = value
        out["predicted_label"] = self.predicted_label
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        for name in _ARRAY_FIELDS:
            if kwargs.get(name) is not None:
                kwargs[name] = np.asarray(kwargs[name], dtype=np.float32)
        return cls(**kwargs)
