"""Heatmaps over the image, the text tokens and the spectrogram.

Attention fusion explains itself: the fusion query's attention over each modality's
tokens is the map. Other strategies use Grad-CAM on the image encoder's last feature
map and gradient x input on the token embeddings and the log-mel input.

Attention is a distribution and Grad-CAM keeps only the positive part by definition, so those
maps are unsigned, in [0, 1]. Gradient x input is signed: a token or a time-frequency bin can
argue against the prediction, and that is kept (scaled to [-1, 1]), not folded into a magnitude.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from mmstudio.model_outputs import Batch, Encoded, FusionOutput, Heatmaps

MAX_HEATMAP_SIDE = 2048


def unit_scaled(values: torch.Tensor) -> torch.Tensor:
    """``values`` as float32, negatives clipped to 0 and the rest scaled so that the largest is
    1 (all zeros, or no values at all, stay as they are)."""
    values = values.float().clamp_min(0)
    if values.numel() == 0:
        return values
    peak = values.max()
    return values / peak if peak > 0 else values


def signed_unit_scaled(values: torch.Tensor) -> torch.Tensor:
    """``values`` as float32 scaled so that the largest magnitude is 1, signs kept (all zeros,
    or no values at all, stay as they are)."""
    values = values.float()
    if values.numel() == 0:
        return values
    peak = values.abs().max()
    return values / peak if peak > 0 else values


def signed_unit_range(weights: np.ndarray) -> np.ndarray:
    """Signed weights scaled so that the largest magnitude is 1, signs kept."""
    return signed_unit_scaled(torch.as_tensor(weights, dtype=torch.float32)).numpy()


def image_map_to_original(grid_map: torch.Tensor, batch: Batch, row: int) -> np.ndarray | None:
    """Map a (h, w) map over the square model input back onto the original image."""
    box, size = batch.image_boxes[row], batch.image_sizes[row]
    if box is None or size is None:
        return None
    side = batch.images.shape[-1]
    square = F.interpolate(
        grid_map[None, None], size=(side, side), mode="bilinear", align_corners=False
    )
    left, top, width, height = box
    crop = square[..., top : top + height, left : left + width]
    out_w, out_h = size
    scale = min(1.0, MAX_HEATMAP_SIDE / max(out_w, out_h))
    target = (max(1, round(out_h * scale)), max(1, round(out_w * scale)))
    full = F.interpolate(crop, size=target, mode="bilinear", align_corners=False)[0, 0]
    return unit_scaled(full).cpu().numpy()


def audio_map_to_spectrogram(
    grid_map: torch.Tensor, frames: int, n_mels: int, frames_per_step: int
) -> np.ndarray:
    """Map a (bands, steps) map onto the (n_mels, frames) spectrogram, where each step covers
    ``frames_per_step`` frames: the audio encoder's own time downsampling. Frames past the last
    step (an encoder that pools drops the remainder) carry 0."""
    covered = grid_map.shape[1] * frames_per_step
    spread = F.interpolate(
        grid_map[None, None], size=(n_mels, covered), mode="bilinear", align_corners=False
    )[0, 0, :, :frames]
    if covered < frames:
        spread = F.pad(spread, (0, frames - covered))
    return unit_scaled(spread).cpu().numpy()


def attention_heatmaps(
    batch: Batch, encoded: Encoded, output: FusionOutput, coalition: int
) -> list[Heatmaps]:
    """Per sample, the full-coalition fusion attention split by modality."""
    result = []
    spans = output.attention_spans or {}
    for row in range(batch.images.shape[0]):
        attention = output.attention[row, coalition].detach()
        present = batch.present[row].tolist()
        maps = {}
        for index, name in enumerate(("image", "text", "audio")):
            start, end = spans[name]
            maps[name] = (
                attention[start + 1 : end] if present[index] else None
            )  # skip the absent slot
        result.append(_assemble(batch, encoded, row, maps, "fusion attention", signed=()))
    return result


def gradient_heatmaps(batch: Batch, encoded: Encoded, scores: torch.Tensor) -> list[Heatmaps]:
    """Grad-CAM and gradient x input for ``scores`` (B,), each sample's predicted logit.

    Gradients are taken with autograd.grad on the three explained tensors only, so the
    model's parameters never accumulate .grad from an explanation.
    """
    features, embeddings = encoded.image_features, encoded.text_embeddings
    spectrogram = encoded.normalized_spectrogram
    wanted = [t for t in (features, embeddings, spectrogram) if t.requires_grad]
    found = torch.autograd.grad(scores.sum(), wanted, allow_unused=True)
    grads = {id(t): g for t, g in zip(wanted, found, strict=True)}
    feature_grad, embedding_grad, spectrogram_grad = (
        grads.get(id(t)) for t in (features, embeddings, spectrogram)
    )
    result = []
    for row in range(batch.images.shape[0]):
        present = batch.present[row].tolist()
        maps: dict[str, torch.Tensor | None] = {"image": None, "text": None, "audio": None}
        if present[0] and feature_grad is not None:
            channel_weights = feature_grad[row].mean(dim=(1, 2))
            maps["image"] = (
                torch.relu((channel_weights[:, None, None] * features[row]).sum(0))
                .detach()
                .flatten()
            )
        if present[1] and embedding_grad is not None:
            maps["text"] = (embedding_grad[row] * embeddings[row]).sum(-1).detach()
        if present[2] and spectrogram_grad is not None:
            maps["audio"] = (spectrogram_grad[row] * spectrogram[row]).detach()
        result.append(
            _assemble(
                batch,
                encoded,
                row,
                maps,
                "Grad-CAM (image); gradient x input (text, audio)",
                signed=("text", "audio"),
            )
        )
    return result


def _assemble(
    batch: Batch, encoded: Encoded, row: int, maps: dict, method: str, signed: tuple[str, ...]
) -> Heatmaps:
    image = text = audio = None
    if maps["image"] is not None:
        rows, cols = encoded.modalities["image"].grid
        image = image_map_to_original(maps["image"].reshape(rows, cols).float(), batch, row)
    if maps["text"] is not None:
        count = len(batch.tokens[row])
        scale = signed_unit_scaled if "text" in signed else unit_scaled
        text = scale(maps["text"][:count]).cpu().numpy()
    if maps["audio"] is not None:
        frames = int(encoded.spectrogram_frames[row])
        n_mels = encoded.spectrogram.shape[1]
        audio_map = maps["audio"].float()
        if audio_map.dim() == 1:  # token attention over the (bands x steps) grid
            audio_encoding = encoded.modalities["audio"]
            bands, steps = audio_encoding.grid
            audio = audio_map_to_spectrogram(
                audio_map.reshape(bands, steps), frames, n_mels, audio_encoding.frames_per_step
            )
        else:  # already per mel bin and frame
            scale = signed_unit_scaled if "audio" in signed else unit_scaled
            audio = scale(audio_map[:, :frames]).cpu().numpy()
    return Heatmaps(image, text, audio, method, signed=signed)
