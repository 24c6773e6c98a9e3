"""example-colors: red, green or blue, from an image's mean colour and a text's colour words.

It implements mmstudio's split FusionModel protocol (preprocess / encode / fuse), plus the
optional heatmaps(), so the Analyzer gives it everything it gives the built-in models:
probabilities, fusion weights, exact modality Shapley values and heatmaps.

Each modality produces "evidence", one number per label; fusion adds the evidence of the
modalities taking part. A modality that is absent (from the sample or from a Shapley
coalition) adds nothing, so the model is well defined on every subset of its inputs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from mmstudio.inputs import InputError, Sample
from mmstudio.model_outputs import FusionOutput, Heatmaps

LABELS = ["red", "green", "blue"]
KEYWORDS = {
    "red": {"red", "crimson", "scarlet", "ruby", "cherry", "tomato", "blood", "fire", "rose"},
    "green": {"green", "emerald", "lime", "grass", "leaf", "leaves", "forest", "olive", "mint"},
    "blue": {"blue", "navy", "azure", "sky", "sea", "ocean", "cobalt", "sapphire", "teal"},
}
IMAGE_SIDE = 32
# Evidence scales: a pure red image gives 8 nats for "red", one colour word 2 nats.
IMAGE_GAIN = 8.0
WORD_GAIN = 2.0


@dataclass
class ColorBatch:
    """present: (B, 2) bool, image then text. images: (B, 3, 32, 32) in [0, 1].
    word_counts: (B, 3) colour words per label. tokens: the words of each text."""

    present: torch.Tensor
    images: torch.Tensor
    word_counts: torch.Tensor
    tokens: list[list[str]] = field(default_factory=list)
    image_sizes: list[tuple[int, int] | None] = field(default_factory=list)

    def to(self, device) -> ColorBatch:
        return ColorBatch(
            self.present.to(device),
            self.images.to(device),
            self.word_counts.to(device),
            self.tokens,
            self.image_sizes,
        )


@dataclass
class ColorEncoded:
    """evidence: (B, 2, 3) per modality and label; zero where the modality is absent."""

    evidence: torch.Tensor
    present: torch.Tensor


class ColorModel(torch.nn.Module):
    name = "example-colors"
    labels = LABELS
    modalities = ("image", "text")
    task = "classification"
    fusion_weights_kind = "share of evidence"

    def preprocess(self, samples: Sequence[Sample]) -> ColorBatch:
        if any(not {"image", "text"} & set(s.present) for s in samples):
            raise InputError(
                "example-colors looks at images and text only: give an image or a text"
            )
        images = torch.zeros(len(samples), 3, IMAGE_SIDE, IMAGE_SIDE)
        counts = torch.zeros(len(samples), len(LABELS))
        tokens, sizes = [], []
        for row, sample in enumerate(samples):
            if sample.image is not None:
                images[row] = _pixels(sample.image)
            words = re.findall(r"[a-z]+", (sample.text or "").lower())
            counts[row] = torch.tensor(
                [sum(w in KEYWORDS[label] for w in words) for label in LABELS]
            )
            tokens.append(words)
            sizes.append(sample.image.size if sample.image is not None else None)
        present = torch.tensor([[m in s.present for m in self.modalities] for s in samples])
        return ColorBatch(present, images, counts, tokens, sizes)

    def encode(self, batch: ColorBatch) -> ColorEncoded:
        mean_colour = batch.images.mean(dim=(2, 3))  # (B, 3): R, G, B in label order
        image_evidence = IMAGE_GAIN * (mean_colour - mean_colour.mean(-1, keepdim=True))
        text_evidence = WORD_GAIN * batch.word_counts
        evidence = torch.stack([image_evidence, text_evidence], dim=1) * batch.present.unsqueeze(-1)
        return ColorEncoded(evidence, batch.present)

    def fuse(self, encoded: ColorEncoded, presence: torch.Tensor) -> FusionOutput:
        """presence (B, K, 2): every coalition the Analyzer asks about, in one call.
        logits (B, K, 3); modality_weights (B, K, 2): each modality's share of the evidence."""
        taking_part = (presence & encoded.present.unsqueeze(1)).unsqueeze(-1)
        evidence = encoded.evidence.unsqueeze(1) * taking_part  # (B, K, 2, 3)
        logits = evidence.sum(dim=2)
        strength = evidence.abs().sum(-1)
        total = strength.sum(-1, keepdim=True)
        weights = torch.where(
            total > 0, strength / total.clamp_min(1e-12), torch.zeros_like(strength)
        )
        return FusionOutput(logits, weights)

    def heatmaps(
        self, batch: ColorBatch, encoded: ColorEncoded, output, predicted: torch.Tensor
    ) -> list[Heatmaps]:
        """Image: where pixels lean towards the predicted colour. Text: its colour words."""
        maps = []
        for row, label_index in enumerate(predicted.tolist()):
            image = text = None
            if batch.present[row, 0]:
                image = _colour_map(batch.images[row], label_index, batch.image_sizes[row])
            if batch.present[row, 1]:
                wanted = KEYWORDS[LABELS[label_index]]
                text = np.array(
                    [1.0 if w in wanted else 0.0 for w in batch.tokens[row]], dtype=np.float32
                )
            maps.append(Heatmaps(image, text, None, "colour lean (image); colour words (text)"))
        return maps


def _pixels(image: Image.Image) -> torch.Tensor:
    small = image.convert("RGB").resize((IMAGE_SIDE, IMAGE_SIDE), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.asarray(small, dtype=np.float32) / 255.0).permute(2, 0, 1)


def _colour_map(pixels: torch.Tensor, channel: int, size: tuple[int, int]) -> np.ndarray:
    lean = (pixels[channel] - pixels.mean(0)).clamp_min(0)
    peak = float(lean.max())
    lean = lean / peak if peak > 0 else lean
    # The whole image was squeezed into the square, so stretching back is the exact inverse.
    picture = Image.fromarray(lean.cpu().numpy().astype(np.float32)).resize(
        size, Image.Resampling.BILINEAR
    )
    return np.clip(np.asarray(picture, dtype=np.float32), 0.0, 1.0)
