"""Deletion curves for the maps of a generated answer: does deleting what a map marks first
lower the answer's log-probability faster than deleting as much at random?

For one modality's answer map (image (gh, gw) over ``image_map_box``, audio (frames,) over the
part of the clip the model hears, words (W,) over ``prompt_words``):

* the map is rasterised onto the input's own units: the image's pixels inside the box, the
  heard audio's samples, the prompt's words; each unit takes the rank of the map cell it
  falls in (ties between cells broken at random with the seed; inside one cell, in raster
  order);
* the top x% of the units (x = 0, 10, ..., 100) are deleted: pixels painted the image's mean
  colour (the colour occlusion paints), samples silenced, words dropped with their space;
* the SAME answer is teacher-forced on every deleted input, all of a modality's steps in one
  batched ``answer_logprobs`` call, and the answer's log-probability (the sum over its
  tokens) is recorded per step.

The other modalities stay in the prompt: the maps explain the answer to the full prompt, and
a generated answer's log-probability does not saturate the way a classifier's probability
does (the classifier's measure in mmstudio.explain.faithfulness scores each modality alone for
that reason).

The curve is normalised to run from 1 (nothing deleted) to 0 (everything deleted), and its
area over x in [0, 1] is the score: lower means the map found what the answer needs faster.
The reference is the mean curve of ``repeats`` seeded random orders, each a random ranking of
the same map cells rasterised the same way (so random deletion removes blocks of the same
size, not scattered pixels). ``gain`` = random area - ranked area: > 0 beats random.

The deletion itself takes a scorer callable (``deletion_curve``), so the ordering logic is
testable without a model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from mmstudio.inputs.sample import AudioClip, Sample
from mmstudio.models.generative import layout

DELETION_STEPS = 10  # x = 0%, 10%, ..., 100%: steps + 1 points
RANDOM_REPEATS = 3
# A curve whose two ends differ by less than this (in log-probability) has no shape to score.
FLAT = 1e-6
_MAP_FIELDS = {"image": "answer_image_map", "audio": "answer_audio_map", "text": "answer_word_map"}

# masks (one boolean array over the units per row, True = deleted) -> the answer's
# log-probability per row
Scorer = Callable[[list[np.ndarray]], np.ndarray]


@dataclass
class AnswerDeletionCurve:
    """One answer, one modality; one entry per step."""

    modality: str
    fraction: np.ndarray  # share of the units deleted: 0 .. 1
    ranked: np.ndarray  # the answer's log-probability, deleting in the map's order
    random: np.ndarray  # its mean over the random orders
    units: int  # how many units (pixels, samples, words) the modality had

    @property
    def full(self) -> float:
        return float(self.ranked[0])

    @property
    def deleted(self) -> float:
        return float(self.ranked[-1])

    @property
    def flat(self) -> bool:
        return abs(self.full - self.deleted) < FLAT

    def normalised(self, curve: np.ndarray) -> np.ndarray:
        """1 with nothing deleted, 0 with everything deleted (NaN for a flat curve)."""
        if self.flat:
            return np.full_like(curve, np.nan)
        return (curve - self.deleted) / (self.full - self.deleted)

    @property
    def ranked_area(self) -> float:
        return float(np.trapezoid(self.normalised(self.ranked), self.fraction))

    @property
    def random_area(self) -> float:
        return float(np.trapezoid(self.normalised(self.random), self.fraction))

    @property
    def gain(self) -> float:
        """Random area minus ranked area: > 0 when the map beats chance."""
        return self.random_area - self.ranked_area


def deletion_curve(
    weights: np.ndarray,
    scorer: Scorer,
    *,
    units: np.ndarray | None = None,
    steps: int = DELETION_STEPS,
    repeats: int = RANDOM_REPEATS,
    seed: int = 0,
    modality: str = "",
) -> AnswerDeletionCurve:
    """The deletion curve of a map with ``weights`` (any shape, one value per cell).

    ``units`` gives, for each unit the scorer deletes (a pixel, a sample, a word), the flat
    index of the map cell it falls in; None means one unit per cell. The scorer is called
    once, with the masks of every step of the map's order and of the random orders (the
    nothing- and everything-deleted inputs once each, shared by all orders)."""
    weights = np.asarray(weights, dtype=np.float64).ravel()
    if not len(weights) or not np.all(np.isfinite(weights)):
        raise ValueError("a deletion curve needs a map with finite values")
    cells = np.arange(len(weights)) if units is None else np.asarray(units, dtype=np.int64)
    count = len(cells)
    if count == 0:
        raise ValueError("a deletion curve needs at least one unit to delete")
    rng = np.random.default_rng(seed)
    tie_break = rng.permutation(len(weights))
    by_weight = tie_break[np.argsort(-weights[tie_break], kind="stable")]
    rankings = [by_weight] + [rng.permutation(len(weights)) for _ in range(repeats)]
    fraction = np.linspace(0.0, 1.0, steps + 1)
    deleted_counts = np.round(fraction * count).astype(int)
    inner = deleted_counts[1:-1]
    masks = [np.zeros(count, dtype=bool), np.ones(count, dtype=bool)]
    for ranking in rankings:
        rank_of_cell = np.empty(len(weights), dtype=np.int64)
        rank_of_cell[ranking] = np.arange(len(weights))
        order = np.argsort(rank_of_cell[cells], kind="stable")
        for deleted in inner:
            mask = np.zeros(count, dtype=bool)
            mask[order[:deleted]] = True
            masks.append(mask)
    scores = np.asarray(scorer(masks), dtype=np.float64)
    if scores.shape != (len(masks),):
        raise ValueError(f"the scorer gave {scores.shape} scores for {len(masks)} inputs")
    ends = scores[:2]
    curves = scores[2:].reshape(len(rankings), len(inner))
    curves = np.concatenate(
        [np.full((len(rankings), 1), ends[0]), curves, np.full((len(rankings), 1), ends[1])], 1
    )
    return AnswerDeletionCurve(modality, fraction, curves[0], curves[1:].mean(0), count)


# ---- the answer's maps on a real model -----------------------------------------------------------


def answer_deletion_curves(
    model: Any,
    sample: Sample,
    maps: Any,
    answer_ids: Sequence[int],
    *,
    modalities: Sequence[str] | None = None,
    steps: int = DELETION_STEPS,
    repeats: int = RANDOM_REPEATS,
    seed: int = 0,
    prompt_tokens: int | None = None,
) -> dict[str, AnswerDeletionCurve]:
    """Deletion curves of the answer maps in ``maps`` (a GenerationAnalysis, or the dict of
    fields ``maps.answer_maps`` returns) for ``answer_ids`` on ``sample``; one batched
    teacher-forced call per modality. Modalities without a map are left out."""
    if not len(answer_ids):
        return {}
    curves = {}
    for modality in modalities or sample.present:
        made = deletion_inputs(modality, model, sample, maps)
        if made is None:
            continue
        weights, units, make = made

        def scorer(masks, make=make):
            variants = [make(mask) for mask in masks]
            coalitions = [tuple(sample.present)] * len(variants)
            logprobs = model.answer_logprobs(
                variants, coalitions, answer_ids, prompt_tokens=prompt_tokens
            )
            return logprobs.sum(1)

        curves[modality] = deletion_curve(
            weights, scorer, units=units, steps=steps, repeats=repeats, seed=seed,
            modality=modality,
        )  # fmt: skip
    return curves


def deletion_inputs(modality: str, model: Any, sample: Sample, maps: Any):
    """(map weights, unit -> cell indices, mask -> deleted Sample) for one modality, or None
    when the sample or the maps lack it."""
    weights = _field(maps, _MAP_FIELDS.get(modality, ""))
    if weights is None or modality not in sample.present:
        return None
    weights = np.asarray(weights, dtype=np.float64)
    if modality == "image":
        return _image_inputs(sample, weights, _field(maps, "image_map_box"))
    if modality == "audio":
        heard = layout.audio_seconds_covered(model.processor, sample.audio.duration)
        return _audio_inputs(sample, weights, heard)
    if modality == "text":
        return _word_inputs(sample, weights, list(_field(maps, "prompt_words") or []))
    return None


def _image_inputs(sample: Sample, weights: np.ndarray, box):
    """Units: the image's pixels inside the map's box, row-major."""
    image = sample.image.convert("RGB")
    pixels = np.asarray(image)
    height, width = pixels.shape[:2]
    rows, columns = weights.shape
    x0, y0, x1, y1 = box if box is not None else layout.WHOLE_IMAGE
    left, top = round(x0 * width), round(y0 * height)
    right, bottom = max(round(x1 * width), left + 1), max(round(y1 * height), top + 1)
    ys, xs = np.mgrid[top:bottom, left:right]
    ys, xs = ys.ravel(), xs.ravel()
    row = np.minimum((ys - top) * rows // (bottom - top), rows - 1)
    column = np.minimum((xs - left) * columns // (right - left), columns - 1)
    fill = pixels.reshape(-1, 3).astype(np.float32).mean(0).astype(np.uint8)

    def make(mask: np.ndarray) -> Sample:
        painted = pixels.copy()
        painted[ys[mask], xs[mask]] = fill
        return _replace(sample, image=Image.fromarray(painted))

    return weights, row * columns + column, make


def _audio_inputs(sample: Sample, weights: np.ndarray, heard_seconds: float):
    """Units: the samples of the part of the clip the model hears."""
    clip = sample.audio
    samples = np.asarray(clip.samples, dtype=np.float32)
    heard = max(1, min(len(samples), int(round(heard_seconds * clip.sample_rate))))
    frames = len(weights)
    cells = np.minimum(np.arange(heard) * frames // heard, frames - 1)

    def make(mask: np.ndarray) -> Sample:
        silenced = samples.copy()
        silenced[:heard][mask] = 0.0
        return _replace(sample, audio=AudioClip(silenced, clip.sample_rate, clip.source))

    return weights, cells, make


def _word_inputs(sample: Sample, weights: np.ndarray, words: list[str]):
    """Units: the prompt's words (or word groups, for long prompts)."""
    if len(words) != len(weights) or not words:
        return None

    def make(mask: np.ndarray) -> Sample:
        kept = " ".join(w for w, gone in zip(words, mask, strict=True) if not gone)
        # An empty question stays a (blank) text part, as occlusion leaves it.
        return _replace(sample, text=kept or " ")

    return weights, None, make


def _field(maps: Any, name: str):
    if not name:
        return None
    return maps.get(name) if isinstance(maps, dict) else getattr(maps, name, None)


def _replace(sample: Sample, **parts) -> Sample:
    values = {"image": sample.image, "text": sample.text, "audio": sample.audio, **parts}
    return Sample(notes=sample.notes, **values)


# ---- over many answers ---------------------------------------------------------------------------


@dataclass
class DeletionSummary:
    """One modality over many answers: the mean areas (flat curves left out) and how often
    the map beat the random orders."""

    modality: str
    answers: int  # curves with a shape (not flat)
    flat: int  # curves whose ends were equal
    ranked_area: float
    random_area: float
    gain: float
    beats_random: float


def summarize(curves: Sequence[dict[str, AnswerDeletionCurve]]) -> dict[str, DeletionSummary]:
    out = {}
    for modality in ("image", "audio", "text"):
        found = [c[modality] for c in curves if modality in c]
        if not found:
            continue
        shaped = [c for c in found if not c.flat]
        ranked = np.array([c.ranked_area for c in shaped])
        random = np.array([c.random_area for c in shaped])
        out[modality] = DeletionSummary(
            modality,
            len(shaped),
            len(found) - len(shaped),
            float(ranked.mean()) if len(shaped) else math.nan,
            float(random.mean()) if len(shaped) else math.nan,
            float((random - ranked).mean()) if len(shaped) else math.nan,
            float((random - ranked > 0).mean()) if len(shaped) else math.nan,
        )
    return out
