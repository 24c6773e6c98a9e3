"""Pretraining digits-chat's image and audio encoders on digit classification.

Trained through the chat loss alone, the encoders learn slowly: the only signal that reaches them
is the few number words of each answer. Classifying the digits dataset's images and clips gives
every example a label, so the vision tower and the audio encoder (with their projections into
the decoder's width, exactly the features the decoder later reads) learn to tell the digits
apart first; the heads that classify are thrown away. The same (seed, step) batches and
schedule as train.py, progress as ChatEvent objects.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from mmstudio.training.chat.architecture import ENCODERS, encoder_module
from mmstudio.training.chat.batches import Encoder
from mmstudio.training.chat.train import GRAD_CLIP, ChatEvent, ChatTrainSettings, learning_rate
from mmstudio.training.manifest import Record

MEDIA = ("image", "audio")
# Measured (feasibility runs): at a peak of 3e-3 the vision tower stayed at chance for 700 of
# 1000 steps, at 5e-4 it learned from step 200; the audio encoder learns well at 2e-3 to 3e-3.
LR_SCALE = {"image": 0.25, "audio": 1.0}


def pooled_image_features(model: Any, pixel_values, grid) -> torch.Tensor:
    """(images, hidden): the mean of each image's merged tokens, as the decoder receives them.

    transformers releases differ in which output field holds the merged tokens and whether
    they come split per image: the field whose width is the decoder's is taken, and split by
    each image's merged grid."""
    output = model.get_image_features(pixel_values, grid)
    hidden = model.config.text_config.hidden_size
    merge = model.config.vision_config.spatial_merge_size
    sizes = (grid.prod(-1) // merge**2).tolist()
    for tokens in (
        getattr(output, "pooler_output", None),
        getattr(output, "last_hidden_state", None),
    ):
        if tokens is None:
            continue
        pieces = list(tokens) if isinstance(tokens, list | tuple) else torch.split(tokens, sizes)
        if pieces and pieces[0].shape[-1] == hidden and len(pieces) == len(sizes):
            return torch.stack([t.mean(0) for t in pieces])
    raise RuntimeError("the vision tower gave no tokens of the decoder's width")


def pooled_audio_features(model: Any, features, mask) -> torch.Tensor:
    """(clips, hidden): the mean of each clip's audio tokens, as the decoder receives them."""
    tokens = model.get_audio_features(features, mask).last_hidden_state
    tower = encoder_module(model, "audio_tower")
    lengths = tower._get_feat_extract_output_lengths(mask.sum(-1))[1]
    return torch.stack([t.mean(0) for t in torch.split(tokens, lengths.tolist())])


class EncoderPretraining:
    """The vision tower and the audio encoder of ``model``, trained in place to classify digits
    records (each with a label, an image and a clip) through linear heads of their own."""

    def __init__(
        self,
        model: Any,
        processor: Any,
        settings: ChatTrainSettings,
        media: Sequence[str] = MEDIA,
        lr_scale: dict[str, float] | None = None,
    ):
        unknown = set(media) - set(MEDIA)
        if unknown or not media:
            raise ValueError(f"media must be some of {MEDIA}, not {list(media)}")
        self.media = tuple(m for m in MEDIA if m in media)
        # Each encoder's share of the learning rate: the vision transformer, trained from
        # scratch, stays at chance for hundreds of steps at the rate the audio encoder likes.
        self.lr_scale = {**LR_SCALE, **(lr_scale or {})}
        self.model = model
        self.settings = settings
        self.encoder = Encoder(processor)
        hidden = model.config.text_config.hidden_size
        torch.manual_seed(settings.seed)
        self.heads = torch.nn.ModuleDict({m: torch.nn.Linear(hidden, 10) for m in self.media})

    def logits(self, batch: Sequence[Record]) -> dict[str, torch.Tensor]:
        out = {}
        if "image" in self.media:
            images = [self.encoder.image(r.image) for r in batch]
            pooled = pooled_image_features(
                self.model, torch.cat([p for p, _ in images]), torch.cat([g for _, g in images])
            )
            out["image"] = self.heads["image"](pooled)
        if "audio" in self.media:
            clips = [self.encoder.audio(r.audio) for r in batch]
            pooled = pooled_audio_features(
                self.model, torch.cat([f for f, _ in clips]), torch.cat([m for _, m in clips])
            )
            out["audio"] = self.heads["audio"](pooled)
        return out

    def run(self, records: Sequence[Record]) -> Iterator[ChatEvent]:
        """Train on ``records``; yields "step" events whose metrics hold each encoder's
        training accuracy since the last event, then a "done" event."""
        usable = _usable(records)
        settings = self.settings
        torch.set_num_threads(settings.threads)
        groups = [
            {
                "params": [
                    *encoder_module(self.model, ENCODERS[MEDIA.index(m)]).parameters(),
                    *self.heads[m].parameters(),
                ],
                "scale": self.lr_scale[m],
            }
            for m in self.media
        ]
        params = [p for group in groups for p in group["params"]]
        optimizer = torch.optim.AdamW(groups, lr=settings.lr, weight_decay=settings.weight_decay)
        self.model.train()
        started = time.perf_counter()
        losses: list[float] = []
        right: dict[str, list[float]] = {m: [] for m in self.media}
        step = 0
        while step < settings.steps:
            rng = np.random.default_rng([settings.seed, 11, step])
            rows = rng.choice(
                len(usable), size=min(settings.batch_size, len(usable)), replace=False
            )
            batch = [usable[int(r)] for r in rows]
            labels = torch.tensor([int(r.label) for r in batch])
            logits = self.logits(batch)
            loss = sum(torch.nn.functional.cross_entropy(v, labels) for v in logits.values())
            lr = learning_rate(step, settings)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["scale"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
            optimizer.step()
            losses.append(float(loss.detach()))
            for modality, values in logits.items():
                right[modality].append(float((values.argmax(-1) == labels).float().mean()))
            step += 1
            elapsed = time.perf_counter() - started
            if step % settings.log_every == 0 or step == settings.steps:
                metrics = {f"{m}_accuracy": round(float(np.mean(v)), 4) for m, v in right.items()}
                yield ChatEvent(
                    "step", step, settings.steps, float(np.mean(losses)), lr, elapsed, "", metrics
                )
                losses, right = [], {m: [] for m in self.media}
            if settings.max_seconds is not None and elapsed >= settings.max_seconds:
                break
        self.model.eval()
        yield ChatEvent("done", step, settings.steps, seconds=time.perf_counter() - started)

    @torch.no_grad()
    def accuracy(self, records: Sequence[Record], batch_size: int = 64) -> dict[str, float]:
        """Each encoder's accuracy with its head on ``records`` (held-out ones, to measure)."""
        usable = _usable(records)
        self.model.eval()
        right = dict.fromkeys(self.media, 0)
        for start in range(0, len(usable), batch_size):
            batch = usable[start : start + batch_size]
            labels = torch.tensor([int(r.label) for r in batch])
            for modality, values in self.logits(batch).items():
                right[modality] += int((values.argmax(-1) == labels).sum())
        return {m: round(right[m] / len(usable), 4) for m in self.media}


def _usable(records: Sequence[Record]) -> list[Record]:
    usable = [r for r in records if r.image is not None and r.audio is not None and r.label]
    if not usable:
        raise ValueError("no digits records with an image, a clip and a label")
    return usable
