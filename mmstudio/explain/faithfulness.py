"""Faithfulness of heatmaps: deletion curves against random deletion, per modality.

A map is faithful when deleting what it marks first lowers the prediction faster than
deleting as much at random. For each modality: take its units (image pixels, text words,
spectrogram cells) in the map's order, delete the fewest that hold the top k% of the map's
mass (k = 0, 10, ..., 100), and track the predicted label's probability; delete the same
number of units at random for the reference. The area between the two curves (random minus
ranked, over k in [0, 1]) is positive for a map that beats chance; 0 is no better than chance.

* Image: deleted pixels take the image's background colour (its median border colour, the
  colour the model's letterbox pads with).
* Text: deleted words vanish with their space, as if never written.
* Audio: deleted spectrogram cells become silence.

Each modality is scored alone (the others absent, as in the Shapley coalitions): with all
three present the other two usually keep the prediction at ~100% whatever is deleted, and
every curve would be flat. The predicted label is the full input's.

The model must offer ``encode_variants`` and ``text_variants`` (FusionNet does): only the
encoder of the modality being deleted runs again, all variants of a sample in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from mmstudio.explain.words import kept_tokens, word_spans
from mmstudio.inputs.background import border_colour
from mmstudio.inputs.sample import Sample

MASS_STEPS = 11  # k = 0%, 10%, ..., 100%
RANDOM_REPEATS = 3


@dataclass
class DeletionCurve:
    """One sample, one modality. All arrays have one entry per mass step."""

    modality: str
    mass: np.ndarray  # fraction of the map's mass deleted: 0 .. 1
    removed: np.ndarray  # fraction of the units deleted to get there
    ranked: np.ndarray  # p(predicted label) deleting in the map's order
    random: np.ndarray  # mean p(predicted label) deleting as many units at random

    @property
    def area_between(self) -> float:
        """Area between the random and the ranked curve: > 0 when the map beats chance."""
        return float(np.trapezoid(self.random - self.ranked, self.mass))


def supports_deletion(model) -> bool:
    return all(hasattr(model, name) for name in ("encode_variants", "text_variants", "encode"))


@torch.no_grad()
def deletion_curves(
    model,
    sample: Sample,
    analysis,
    *,
    modalities: Sequence[str] | None = None,
    steps: int = MASS_STEPS,
    repeats: int = RANDOM_REPEATS,
    seed: int = 0,
) -> dict[str, DeletionCurve]:
    """Deletion curves of ``analysis``'s heatmaps (the Analyzer's result for ``sample`` on
    ``model``), for each modality that has a map with some mass. One call per record."""
    if not supports_deletion(model):
        return {}
    device = next(model.parameters()).device
    batch = model.preprocess([sample]).to(device)
    encoded = model.encode(batch)
    rng = np.random.default_rng(seed)
    mass = np.linspace(0.0, 1.0, steps)
    deleters = {"image": _image_deleter, "text": _text_deleter, "audio": _audio_deleter}
    curves = {}
    for modality in modalities or analysis.present:
        if modality not in deleters or modality not in analysis.present:
            continue
        made = deleters[modality](model, sample, analysis, batch, encoded)
        if made is None:
            continue
        weights, score = made
        orders = _orders(weights, mass, rng, repeats)
        if orders is None:
            continue
        counts, ranked, shuffled = orders
        deletions = [ranked[:n] for n in counts] + [order[:n] for order in shuffled for n in counts]
        probabilities = _probabilities(model, score(deletions), modality, analysis.predicted_index)
        curves[modality] = DeletionCurve(
            modality,
            mass,
            counts / np.asarray(weights).size,
            probabilities[:steps],
            probabilities[steps:].reshape(repeats, steps).mean(0),
        )
    return curves


def _orders(weights: np.ndarray, mass: np.ndarray, rng, repeats: int):
    """Units in the map's order (ties in random order), how many of them hold each step's
    share of the mass, and ``repeats`` random orders."""
    weights = np.clip(np.asarray(weights, dtype=np.float64).ravel(), 0.0, None)
    total = weights.sum()
    if not np.isfinite(total) or total <= 0:
        return None
    tie_break = rng.permutation(len(weights))
    ranked = tie_break[np.argsort(-weights[tie_break], kind="stable")]
    held = np.cumsum(weights[ranked]) / total
    counts = np.array(
        [0 if k <= 0 else min(int(np.searchsorted(held, k - 1e-9)) + 1, len(weights)) for k in mass]
    )
    return counts, ranked, [rng.permutation(len(weights)) for _ in range(repeats)]


def _probabilities(model, encoded, modality: str, label: int) -> np.ndarray:
    count = encoded.present.shape[0]
    presence = torch.zeros(
        count, 1, len(model.modalities), dtype=torch.bool, device=encoded.present.device
    )
    presence[..., list(model.modalities).index(modality)] = True
    logits = model.fuse(encoded, presence).logits[:, 0].float()
    return torch.softmax(logits, -1)[:, label].cpu().numpy().astype(np.float64)


def _image_deleter(model, sample, analysis, batch, encoded):
    heatmap = analysis.image_heatmap
    if heatmap is None or sample.image is None:
        return None
    image = sample.image.convert("RGB")
    background = np.array(border_colour(image), dtype=np.uint8)
    rows, cols = heatmap.shape

    def score(deletions: list[np.ndarray]):
        variants = []
        for deleted in deletions:
            mask = np.zeros(rows * cols, dtype=bool)
            mask[deleted] = True
            # The map may be smaller than a huge image: its pixels stand for blocks of it.
            full = Image.fromarray(mask.reshape(rows, cols)).resize(
                image.size, Image.Resampling.NEAREST
            )
            pixels = np.asarray(image).copy()
            pixels[np.asarray(full)] = background
            variants.append(Sample(image=Image.fromarray(pixels)))
        images = model.preprocess(variants).images.to(encoded.present.device)
        return model.encode_variants(encoded, [0] * len(deletions), images=images, alone=True)

    return heatmap, score


def _text_deleter(model, sample, analysis, batch, encoded):
    tokens = batch.tokens[0] if getattr(batch, "tokens", None) else []
    weights = analysis.token_weights
    spans = word_spans(tokens)
    if weights is None or not spans or len(weights) != len(tokens):
        return None
    word_weights = np.array([float(np.mean(weights[a:b])) for a, b in spans])

    def score(deletions: list[np.ndarray]):
        kept = [kept_tokens(tokens, spans, {int(w) for w in deleted}) for deleted in deletions]
        return _with_empty_text_absent(
            model.text_variants(batch, encoded, [0] * len(kept), kept, alone=True), kept, model
        )

    return word_weights, score


def _with_empty_text_absent(encoded, kept, model):
    # A text with every word deleted is no text: the model's absent text, as in training.
    present = encoded.present.clone()
    present[:, list(model.modalities).index("text")] &= torch.tensor(
        [bool(k) for k in kept], device=present.device
    )
    encoded.present = present
    return encoded


def _audio_deleter(model, sample, analysis, batch, encoded):
    heatmap = analysis.audio_heatmap
    if heatmap is None:
        return None
    bands, frames = heatmap.shape

    def score(deletions: list[np.ndarray]):
        silenced = torch.zeros(len(deletions), bands * frames, dtype=torch.bool)
        for row, deleted in enumerate(deletions):
            silenced[row, torch.as_tensor(deleted, dtype=torch.long)] = True
        silenced = silenced.view(len(deletions), bands, frames).to(encoded.present.device)
        return model.encode_variants(encoded, [0] * len(deletions), silenced=silenced, alone=True)

    return heatmap, score


@dataclass
class FaithfulnessSummary:
    """Over many records, per modality: how many had a curve, the mean curves, and the
    area between them (mean and standard deviation)."""

    modality: str
    records: int
    mass: np.ndarray
    ranked: np.ndarray
    random: np.ndarray
    area_mean: float
    area_std: float
    beats_random: float  # share of records whose area is > 0


def summarize(curves: Sequence[dict[str, DeletionCurve]]) -> dict[str, FaithfulnessSummary]:
    summaries = {}
    for modality in ("image", "text", "audio"):
        found = [c[modality] for c in curves if modality in c]
        if not found:
            continue
        areas = np.array([c.area_between for c in found])
        summaries[modality] = FaithfulnessSummary(
            modality,
            len(found),
            found[0].mass,
            np.mean([c.ranked for c in found], axis=0),
            np.mean([c.random for c in found], axis=0),
            float(areas.mean()),
            float(areas.std()),
            float((areas > 0).mean()),
        )
    return summaries
