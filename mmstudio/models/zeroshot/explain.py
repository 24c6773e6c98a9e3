"""Heatmaps for the zero-shot backend.

Image: attention rollout through CLIP's vision transformer (Abnar & Zuidema, 2020), mapped
through the processor's resize and centre crop back onto the original image; the area the
crop removed stays 0 because the model never saw it. Rollout follows how information flows
to the class token, so it is the same for every label.
Text: gradient x input on the text tower's token embeddings, for the predicted label.
Audio: gradient x input on CLAP's normalised log-mel (the output of its per-mel-bin batch
norm, whose 0 is the training mean spectrum, a meaningful baseline, unlike 0 dB), for the
predicted label.
Rollout is a flow of attention, unsigned in [0, 1]; gradient x input is signed, in [-1, 1]
(negative: evidence against the label), so the text and audio maps are marked signed.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

from mmstudio.explain.heatmaps import MAX_HEATMAP_SIDE, signed_unit_scaled, unit_scaled
from mmstudio.model_outputs import Heatmaps
from mmstudio.models.zeroshot.batch import ImageRegion, ZeroShotBatch

METHOD = "attention rollout (image); gradient x input (text tokens, log-mel)"
SIGNED = ("text", "audio")


def explain_batch(model, batch: ZeroShotBatch, predicted: torch.Tensor) -> list[Heatmaps]:
    count = batch.present.shape[0]
    maps: dict[str, list] = {name: [None] * count for name in ("image", "text", "audio")}
    predicted = predicted.to(model.device)
    with torch.enable_grad(), model.autocast():
        if batch.pixel_values is not None:
            _place(maps["image"], batch.image_rows, image_rollout(model, batch))
        if batch.text_ids is not None:
            _place(
                maps["text"],
                batch.text_rows,
                text_attributions(model, batch, predicted[batch.text_rows]),
            )
        if batch.input_features is not None:
            _place(
                maps["audio"],
                batch.audio_rows,
                audio_attributions(model, batch, predicted[batch.audio_rows]),
            )
    return [
        Heatmaps(maps["image"][row], maps["text"][row], maps["audio"][row], METHOD, signed=SIGNED)
        for row in range(count)
    ]


def _place(slots: list, rows: list[int], values: list) -> None:
    for row, value in zip(rows, values, strict=True):
        slots[row] = value


# --- image ----------------------------------------------------------------------------------


@contextmanager
def eager_attention(pretrained_model):
    """Only the eager attention path returns attention weights (SDPA and flash kernels never
    form them), so switch to it for the explanation and back afterwards."""
    before = pretrained_model.config._attn_implementation
    if before != "eager":
        pretrained_model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if before != "eager":
            pretrained_model.set_attn_implementation(before)


def attention_rollout(attentions: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Per-layer attentions (n, heads, N, N) -> (n, N - 1): how much each patch flows into the
    class token, with the residual connection counted as half of each layer's mixing."""
    flow = None
    for layer in attentions:
        mixing = layer.float().mean(dim=1)
        mixing = 0.5 * mixing + 0.5 * torch.eye(mixing.shape[-1], device=mixing.device)
        mixing = mixing / mixing.sum(dim=-1, keepdim=True)
        flow = mixing if flow is None else mixing @ flow
    return flow[:, 0, 1:]


def image_rollout(model, batch: ZeroShotBatch) -> list[np.ndarray]:
    vision = model.clip.vision_model
    with torch.no_grad(), eager_attention(vision):
        output = vision(pixel_values=batch.pixel_values, output_attentions=True)
    rollout = attention_rollout(output.attentions)
    side = round(rollout.shape[-1] ** 0.5)
    input_size = tuple(batch.pixel_values.shape[-2:])
    return [
        map_to_original(rollout[index].reshape(side, side), region, input_size)
        for index, region in enumerate(batch.image_regions)
    ]


def map_to_original(
    grid: torch.Tensor, region: ImageRegion, input_size: tuple[int, int]
) -> np.ndarray:
    """A (rows, cols) map over the model input -> (H, W) over the original image (scaled so
    that its longer side is at most MAX_HEATMAP_SIDE), in [0, 1]."""
    height, width = input_size
    over_input = F.interpolate(
        grid[None, None].float(), size=(height, width), mode="bilinear", align_corners=False
    )
    left, top, box_w, box_h = region.target
    seen = over_input[
        ...,
        round(top * height) : round((top + box_h) * height),
        round(left * width) : round((left + box_w) * width),
    ]
    image_w, image_h = region.size
    scale = min(1.0, MAX_HEATMAP_SIDE / max(image_w, image_h))
    out_w, out_h = max(1, round(image_w * scale)), max(1, round(image_h * scale))
    src_left, src_top, src_w, src_h = (value * scale for value in region.source)
    x0, y0 = round(src_left), round(src_top)
    x1, y1 = (
        min(out_w, max(x0 + 1, round(src_left + src_w))),
        min(out_h, max(y0 + 1, round(src_top + src_h))),
    )
    canvas = torch.zeros(out_h, out_w)
    canvas[y0:y1, x0:x1] = F.interpolate(
        seen, size=(y1 - y0, x1 - x0), mode="bilinear", align_corners=False
    )[0, 0].cpu()
    return unit_scaled(canvas).numpy()


# --- text -----------------------------------------------------------------------------------


@contextmanager
def captured_output(module):
    """Make ``module``'s output a leaf that requires grad, and hand it out: gradients then
    stop at the inputs we explain and never touch (or accumulate on) the weights."""
    captured: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        leaf = output.detach().requires_grad_(True)
        captured.append(leaf)
        return leaf

    handle = module.register_forward_hook(hook)
    try:
        yield captured
    finally:
        handle.remove()


def text_attributions(model, batch: ZeroShotBatch, predicted: torch.Tensor) -> list[np.ndarray]:
    with captured_output(model.text_encoder.text_model.get_input_embeddings()) as captured:
        scores = model.text_scores(batch.text_ids, batch.text_mask)
    log_probs = torch.log_softmax(scores.float(), -1)
    chosen = log_probs.gather(1, predicted[:, None]).sum()
    embeddings = captured[0]
    (gradient,) = torch.autograd.grad(chosen, embeddings)
    relevance = (gradient.float() * embeddings.float()).sum(-1).detach()
    return [
        signed_unit_scaled(relevance[index, positions].cpu()).numpy()
        for index, positions in enumerate(batch.token_positions)
    ]


# --- audio ----------------------------------------------------------------------------------


def audio_attributions(model, batch: ZeroShotBatch, predicted: torch.Tensor) -> list[np.ndarray]:
    with captured_output(model.clap.audio_model.audio_encoder.batch_norm) as captured:
        scores = model.audio_scores(batch.input_features, batch.is_longer)
    chosen = torch.log_softmax(scores.float(), -1).gather(1, predicted[:, None]).sum()
    normalised = captured[0]  # (n, n_mels, frames, channels): CLAP transposes before its norm
    (gradient,) = torch.autograd.grad(chosen, normalised)
    relevance = (gradient.float() * normalised.float()).sum(-1).detach().cpu()
    return [
        signed_unit_scaled(relevance[index, :, : batch.audio_frames[index]]).numpy()
        for index in range(relevance.shape[0])
    ]
