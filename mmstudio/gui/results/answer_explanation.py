"""One token of a generated answer (or the whole answer) as the classifier's views read an
analysis: the Shapley bars and the interaction matrix take it as they take an ``Analysis``.

A classifier's value function is the predicted label's log-probability; a generated token's is
that token's log-probability given the answer before it, and the whole answer's is the sum over
its tokens. So the same bars and cells mean the same thing, with the token (or the answer) in
the place of the label.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmstudio.result import GenerationAnalysis

# How much of the answer a caption quotes.
QUOTED_CHARACTERS = 40
# Why an answer ended, in words.
FINISHED = {
    "eos": "complete",
    "length": "cut at the maximum number of new tokens",
    "stopped": "stopped before the end",
}


@dataclass
class Explained:
    """The fields ContributionView.show_shapley and InteractionView.show_analysis read."""

    modalities: list[str]
    present: list[str]
    shapley: dict[str, float]
    predicted_label: str
    shapley_base: float
    full_score: float
    interactions: dict[str, dict[str, float]]
    alone_predictions: dict[str, str] = field(default_factory=dict)
    conflict: float | None = None


def explained(analysis: GenerationAnalysis, token: int | None) -> Explained | None:
    """Token ``token``'s explanation, the whole answer's when None; None when the answer was not
    explained (stopped, or explanations switched off)."""
    values = analysis.token_coalition_logprobs
    if values is None or analysis.token_shapley is None or not analysis.token_count:
        return None
    if token is None:
        column = values.sum(1)
        label = quoted(analysis.answer)
    else:
        column = values[:, token]
        label = analysis.answer_tokens[token].strip() or repr(analysis.answer_tokens[token])
    return Explained(
        modalities=list(analysis.modalities),
        present=list(analysis.present),
        shapley=analysis.shapley_of(token),
        predicted_label=label,
        shapley_base=float(column[0]),
        full_score=float(column[-1]),
        interactions=analysis.interactions_of(token) or {},
    )


def quoted(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTED_CHARACTERS else text[: QUOTED_CHARACTERS - 1] + "…"


@dataclass(frozen=True)
class SelectionMaps:
    """The maps of a token (or the whole answer) as the map views draw them."""

    image: np.ndarray | None  # (gh, gw) over ``image_box`` of the image
    image_box: tuple[float, float, float, float]
    audio: np.ndarray | None  # (n_mels, F): the token's frame weights, one row per mel band
    words: list[str]  # the prompt's words with the spaces between them, as text tokens
    word_weights: np.ndarray | None  # one per entry of ``words`` (0 for the spaces)


def selection_maps(analysis: GenerationAnalysis, token: int | None) -> SelectionMaps:
    box = tuple(float(v) for v in getattr(analysis, "image_map_box", (0.0, 0.0, 1.0, 1.0)))
    return SelectionMaps(
        image=_pick(analysis.token_image_maps, analysis.answer_image_map, token),
        image_box=box,  # type: ignore[arg-type]
        audio=_over_bands(
            _pick(analysis.token_audio_maps, analysis.answer_audio_map, token),
            analysis.spectrogram,
        ),
        **_spaced_words(
            analysis.prompt_words,
            _pick(analysis.token_word_maps, analysis.answer_word_map, token),
        ),
    )


def _pick(per_token, whole, token: int | None) -> np.ndarray | None:
    if token is None:
        if whole is not None:
            return np.asarray(whole, dtype=np.float32)
        # No map of the answer computed: the mean of its tokens' is the closest reading.
        return None if per_token is None else np.asarray(per_token, dtype=np.float32).mean(0)
    if per_token is None or token >= len(per_token):
        return None
    return np.asarray(per_token[token], dtype=np.float32)


def _over_bands(frames: np.ndarray | None, spectrogram: np.ndarray | None) -> np.ndarray | None:
    """A map over the spectrogram's frames, repeated over its mel bands (the audio view
    overlays a map the spectrogram's shape)."""
    if frames is None or spectrogram is None:
        return None
    bands, count = spectrogram.shape
    row = np.asarray(frames, dtype=np.float32)
    if len(row) != count:
        # A map on its own time bins: stretched over the frames, in order.
        row = np.interp(np.linspace(0, len(row) - 1, count), np.arange(len(row)), row)
    return np.repeat(row[None, :].astype(np.float32), bands, axis=0)


def _spaced_words(words: list[str], weights: np.ndarray | None) -> dict:
    """The words as the text view's tokens ("what", " ", "is", ...), each word's weight on it
    and 0 on the spaces, which belong to no word there."""
    tokens: list[str] = []
    values: list[float] = []
    for index, word in enumerate(words):
        if index:
            tokens.append(" ")
            values.append(0.0)
        tokens.append(word)
        values.append(
            float(weights[index]) if weights is not None and index < len(weights) else 0.0
        )
    return {
        "words": tokens,
        "word_weights": None if weights is None else np.asarray(values, dtype=np.float32),
    }
