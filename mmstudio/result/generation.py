"""The generation part of an analysis: the answer a generative model gave, and every token of it
explained across the modalities."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from mmstudio.result.common import (
    GENERATION,
    AnalysisCommon,
    arrays_from_lists,
    strict_json,
)

# How an absent modality is taken out of a coalition: the explanation's one modelling choice,
# shown in the window and written into the JSON.
ABSENT_MODALITY = "removed from the chat template (its part of the user's message is left out)"

_ARRAY_FIELDS = (
    "token_coalition_logprobs",
    "token_shapley",
    "answer_shapley",
    "token_image_maps",
    "answer_image_map",
    "token_audio_maps",
    "answer_audio_map",
    "spectrogram",
    "token_word_maps",
    "answer_word_map",
)
_ARRAY_DTYPES = {
    "token_coalition_logprobs": np.float64,
    "token_shapley": np.float64,
    "answer_shapley": np.float64,
}


@dataclass(kw_only=True)
class GenerationAnalysis(AnalysisCommon):
    """The result of ``Analyzer.analyze`` for a generative model.

    ``prompt`` is the user's text (the question), ``answer`` the generated text and
    ``answer_tokens`` its T tokens as displayed (they concatenate to ``answer``);
    ``answer_token_ids`` their ids. ``finished`` says why generation ended: "eos", "length"
    (max new tokens) or "stopped".

    The explanation is teacher-forced on that answer. ``coalitions`` lists the K coalitions of
    ``modalities`` (empty first, full last, the order of ``explain.shapley.coalition_masks``) by
    the names of their modalities; a coalition naming a modality the sample lacks equals the one
    without it. ``token_coalition_logprobs`` (K, T) is the log-probability of each answer token
    with only that coalition's modalities in the prompt (absent ones: ``absent_modality``).
    ``token_shapley`` (T, M) holds each token's exact modality Shapley values (0 for modalities
    the sample lacks), so ``token_coalition_logprobs[0] + token_shapley.sum(1) ==
    token_coalition_logprobs[-1]``; ``answer_shapley`` (M,) is their sum over the tokens, the
    values of the answer's log-probability. ``token_interactions`` (T) and
    ``answer_interactions`` hold the interaction indices as the classifier's ``interactions``.

    Maps, per token and for the whole answer, each in [0, 1] unless its modality is in
    ``signed_maps`` ([-1, 1], negative where the part made the token less likely):
        token_image_maps (T, gh, gw): over the image, on a grid covering ``image_map_box``
            (the family's token layout for attention, the occluded cells for occlusion);
        token_audio_maps (T, F): over the frames of ``spectrogram`` (n_mels, F), whose hop
            is ``spectrogram_hop_seconds``;
        token_word_maps (T, W): over ``prompt_words``.
    ``map_methods`` names the method of each modality's maps ("attention" or "occlusion").

    ``contrastive_answers`` maps a left-out modality to the answer the model gives without it
    (computed on request). ``generation`` records the decoding options used.
    """

    task: ClassVar[str] = GENERATION

    prompt: str = ""
    answer: str = ""
    answer_tokens: list[str] = field(default_factory=list)
    answer_token_ids: list[int] = field(default_factory=list)
    finished: str = ""
    coalitions: list[list[str]] = field(default_factory=list)
    token_coalition_logprobs: np.ndarray | None = None
    token_shapley: np.ndarray | None = None
    answer_shapley: np.ndarray | None = None
    token_interactions: list[dict[str, dict[str, float]]] = field(default_factory=list)
    answer_interactions: dict[str, dict[str, float]] = field(default_factory=dict)
    absent_modality: str = ABSENT_MODALITY
    token_image_maps: np.ndarray | None = None
    # The part of the image the grid covers, x0, y0, x1, y1 as fractions of its width and
    # height: all of it, unless the family's processor crops (a CLIP-style centre crop).
    image_map_box: list[float] = field(default_factory=lambda: [0.0, 0.0, 1.0, 1.0])
    answer_image_map: np.ndarray | None = None
    token_audio_maps: np.ndarray | None = None
    answer_audio_map: np.ndarray | None = None
    spectrogram: np.ndarray | None = None
    spectrogram_hop_seconds: float | None = None
    prompt_words: list[str] = field(default_factory=list)
    token_word_maps: np.ndarray | None = None
    answer_word_map: np.ndarray | None = None
    map_methods: dict[str, str] = field(default_factory=dict)
    signed_maps: list[str] = field(default_factory=list)
    contrastive_answers: dict[str, str] = field(default_factory=dict)
    generation: dict[str, Any] = field(default_factory=dict)

    @property
    def token_count(self) -> int:
        return len(self.answer_tokens)

    def shapley_of(self, token: int | None = None) -> dict[str, float]:
        """The Shapley values of the present modalities for one token, or for the whole answer
        when ``token`` is None."""
        row = self.answer_shapley if token is None else self.token_shapley[token]
        if row is None:
            return {}
        return {m: float(row[i]) for i, m in enumerate(self.modalities) if m in self.present}

    def interactions_of(self, token: int | None = None) -> dict[str, dict[str, float]]:
        return self.answer_interactions if token is None else self.token_interactions[token]

    def modality_shares(self) -> np.ndarray:
        """(T, M) each token's share of its absolute Shapley mass per modality (rows sum to 1,
        0 where a token's values are all 0): the strip under the answer."""
        if self.token_shapley is None or not len(self.token_shapley):
            return np.zeros((0, len(self.modalities)))
        mass = np.abs(self.token_shapley)
        total = mass.sum(1, keepdims=True)
        return np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"task": self.task}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.tolist() if isinstance(value, np.ndarray) else value
        return out

    def to_json(self, indent: int | None = 2, **_ignored) -> str:
        """Strict JSON: a non-finite number raises NonFiniteAnalysisError, never writes ``NaN``.
        (Accepts the classifier's keywords, such as ``full_heatmaps``: its maps are small.)"""
        return strict_json(self.to_dict(), indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationAnalysis:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        return cls(**arrays_from_lists(kwargs, _ARRAY_FIELDS, _ARRAY_DTYPES))
