"""Typed model outputs: the tensors passed between preprocessing, encoders, the fusion head and
the explanations.

A leaf module (it imports torch and numpy only), so both ``mmstudio.models`` and
``mmstudio.explain`` can import it without importing each other, as transformers keeps its
``modeling_outputs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class Batch:
    """Model-ready tensors for B samples; ``present`` is (B, M) bool in MODALITIES order.

    Shapes: images (B, 3, S, S); text_ids / text_mask (B, T); waveforms (B, L);
    waveform_mask (B, L) marks real samples as opposed to padding.
    """

    images: torch.Tensor
    text_ids: torch.Tensor
    text_mask: torch.Tensor
    waveforms: torch.Tensor
    waveform_mask: torch.Tensor
    present: torch.Tensor
    tokens: list[list[str]] = field(default_factory=list)
    # Where the original image sits inside the square input: (left, top, width, height)
    # in input pixels, so heatmaps can be mapped back onto the original image.
    image_boxes: list[tuple[int, int, int, int] | None] = field(default_factory=list)
    image_sizes: list[tuple[int, int] | None] = field(default_factory=list)
    notes: list[list[str]] = field(default_factory=list)
    hop_seconds: float | None = None

    def to(self, device: torch.device) -> Batch:
        return Batch(
            images=self.images.to(device),
            text_ids=self.text_ids.to(device),
            text_mask=self.text_mask.to(device),
            waveforms=self.waveforms.to(device),
            waveform_mask=self.waveform_mask.to(device),
            present=self.present.to(device),
            tokens=self.tokens,
            image_boxes=self.image_boxes,
            image_sizes=self.image_sizes,
            notes=self.notes,
            hop_seconds=self.hop_seconds,
        )


@dataclass
class ModalityEncoding:
    """One modality's encoder output.

    tokens: (B, N, D); mask: (B, N) True for real tokens; pooled: (B, D).
    grid: the (rows, cols) layout of the tokens when they tile a 2-D map (image
    positions, or mel bands x time steps), None for sequences.
    frames_per_step: for audio, the spectrogram frames one grid column covers (the encoder's
    time downsampling), so a map over the grid lines up with the spectrogram's frames.
    """

    tokens: torch.Tensor
    mask: torch.Tensor
    pooled: torch.Tensor
    grid: tuple[int, int] | None = None
    frames_per_step: int | None = None


@dataclass
class Encoded:
    """All encoders' outputs for a batch, plus the tensors explanations need."""

    modalities: dict[str, ModalityEncoding]
    present: torch.Tensor
    spectrogram: torch.Tensor | None = None  # (B, n_mels, frames) log-mel in dB
    spectrogram_frames: torch.Tensor | None = None  # (B,) real frames per sample
    image_features: torch.Tensor | None = None  # (B, D, h, w) last image feature map
    text_embeddings: torch.Tensor | None = None  # (B, T, D) token embeddings
    normalized_spectrogram: torch.Tensor | None = None  # the audio CNN's input
    # Text variants encoded in the same text-encoder call as the batch (word occlusion's),
    # so an explanation does not pay the encoder's fixed cost a second time.
    text_variants: TextVariants | None = None


@dataclass
class TextVariants:
    """Texts cut down for an explanation: the i-th variant is sample ``rows[i]``'s text with
    only the token indices ``kept[i]``; ``encoding`` holds one row per variant."""

    rows: list[int]
    kept: list[list[int]]
    encoding: ModalityEncoding


@dataclass
class FusionOutput:
    """The fusion head's output for B samples under K coalitions each.

    logits: (B, K, C). modality_weights: (B, K, M) what the model weighted each
    modality by, summing to 1. attention: (B, K, N) the fusion query's attention
    over the concatenated tokens (attention fusion only); attention_spans gives the
    [start, end) slice of each modality's tokens in that axis. embedding: (B, K, D)
    the fused vector the classifier's last layer reads (the pre-logit embedding), None
    for heads that have no single fused vector (late fusion averages unimodal heads).
    """

    logits: torch.Tensor
    modality_weights: torch.Tensor
    attention: torch.Tensor | None = None
    attention_spans: dict[str, tuple[int, int]] | None = None
    embedding: torch.Tensor | None = None


@dataclass
class Heatmaps:
    """Per-sample explanation maps: unsigned ones scaled to [0, 1], signed ones to [-1, 1]
    (largest magnitude 1, the sign kept: negative is evidence against the prediction).

    image: (H, W) over the original image, tokens: (T,) one weight per text token,
    audio: (n_mels, frames) over the spectrogram; None where the modality is absent or the
    model cannot explain it. method names how they were made (e.g. "attention"). ``signed``
    names the maps ("image", "text", "audio") whose method gives signed values.
    """

    image: np.ndarray | None
    tokens: np.ndarray | None
    audio: np.ndarray | None
    method: str
    # How the text map was made, when not by ``method``.
    text_method: str = ""
    signed: tuple[str, ...] = ()
