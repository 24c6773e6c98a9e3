"""The frozen encoders' outputs, computed once per media file and variant, for chat training.

Once the encoders are pretrained (pretrain.py), the chat phase teaches the decoder to read
their tokens, the typed text and the question, and to answer. Running the vision tower and the
audio encoder on every step would spend most of each step recomputing what does not change:
with the encoders frozen, their tokens for a file are fixed. The bank keeps each file's tokens
for its clean version and a few augmented variants (so the decoder does not learn one point
per file), and a chat batch puts them where the processor's placeholders are, exactly where the
model's own forward would put them (``test_features`` checks the logits are the same).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmstudio.training.chat.augment import MediaAugmenter
from mmstudio.training.chat.batches import Encoder, Example, audio_tokens, collate
from mmstudio.training.chat.data import ChatRecord
from mmstudio.training.data import MediaCache


@dataclass(frozen=True)
class Encoded:
    """One variant of one file as the decoder receives it."""

    tokens: torch.Tensor  # (tokens, decoder width)
    grid: torch.Tensor | None = None  # an image's (1, 3) patch grid
    mask: torch.Tensor | None = None  # a clip's (1, frames) feature mask


def image_token_groups(model: Any, pixel_values, grid) -> list[torch.Tensor]:
    """Each image's merged tokens, as the decoder receives them.

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
            return pieces
    raise RuntimeError("the vision tower gave no tokens of the decoder's width")


def audio_token_groups(model: Any, features, mask) -> list[torch.Tensor]:
    """Each clip's audio tokens, as the decoder receives them."""
    tokens = model.get_audio_features(features, mask).last_hidden_state
    lengths = [audio_tokens(int(frames)) for frames in mask.sum(-1)]
    return list(torch.split(tokens, lengths))


class FeatureBank:
    """Encoder tokens per media file: variant 0 is the file as it is, 1.. are augmented."""

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        variants: int = 4,
        augmenter: MediaAugmenter | None = None,
        seed: int = 0,
        batch_size: int = 64,
        clean_share: float = 0.4,
    ):
        self.model = model
        self.encoder = Encoder(processor)
        self.variants = variants if augmenter is not None else 0
        self.augmenter = augmenter
        self.seed = seed
        self.batch_size = batch_size
        self.clean_share = clean_share
        self.images: dict[Path, list[Encoded]] = {}
        self.audio: dict[Path, list[Encoded]] = {}
        tokenizer = processor.tokenizer
        self.image_id = tokenizer.convert_tokens_to_ids(processor.image_token)
        self.audio_id = tokenizer.convert_tokens_to_ids(processor.audio_token)

    @torch.no_grad()
    def build(
        self, records: Sequence[ChatRecord], progress: Callable[[str, int, int], None] | None = None
    ) -> None:
        """Encode every image and clip ``records`` use that the bank lacks."""
        self.model.eval()
        cache = MediaCache(audio_rate=self.encoder.sampling_rate)
        images = sorted({r.image for r in records if r.image is not None} - set(self.images))
        clips = sorted({r.audio for r in records if r.audio is not None} - set(self.audio))
        for start in range(0, len(images), self.batch_size):
            paths = images[start : start + self.batch_size]
            for variant in range(self.variants + 1):
                inputs = [
                    self.encoder.image_from(self._image(cache.image(p), p, variant)) for p in paths
                ]
                grids = torch.cat([g for _, g in inputs])
                groups = image_token_groups(self.model, torch.cat([v for v, _ in inputs]), grids)
                for path, tokens, grid in zip(paths, groups, grids, strict=True):
                    self.images.setdefault(path, []).append(
                        Encoded(tokens.clone(), grid=grid[None].clone())
                    )
            if progress:
                progress("image", min(start + self.batch_size, len(images)), len(images))
        for start in range(0, len(clips), self.batch_size):
            paths = clips[start : start + self.batch_size]
            for variant in range(self.variants + 1):
                inputs = [self._clip(cache.audio(p).samples, p, variant) for p in paths]
                masks = torch.cat([m for _, m in inputs])
                groups = audio_token_groups(self.model, torch.cat([f for f, _ in inputs]), masks)
                for path, tokens, mask in zip(paths, groups, masks, strict=True):
                    self.audio.setdefault(path, []).append(
                        Encoded(tokens.clone(), mask=mask[None].clone())
                    )
            if progress:
                progress("audio", min(start + self.batch_size, len(clips)), len(clips))

    def _rng(self, path: Path, variant: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 13, variant, *str(path).encode("utf-8")[-48:]])

    def _image(self, image, path: Path, variant: int):
        if variant == 0 or self.augmenter is None:
            return image
        return self.augmenter.image(image, self._rng(path, variant))

    def _clip(self, samples, path: Path, variant: int) -> tuple[torch.Tensor, torch.Tensor]:
        if variant == 0 or self.augmenter is None:
            return self.encoder.audio_from(samples)
        rng = self._rng(path, variant)
        features, mask = self.encoder.audio_from(
            self.augmenter.audio(samples, self.encoder.sampling_rate, rng)
        )
        return self.augmenter.features(features, mask, rng), mask

    def _pick(self, encoded: list[Encoded], rng: np.random.Generator) -> Encoded:
        if len(encoded) == 1 or rng.random() < self.clean_share:
            return encoded[0]
        return encoded[int(rng.integers(1, len(encoded)))]

    def example(
        self, record: ChatRecord, rng: np.random.Generator
    ) -> tuple[Example, Encoded | None, Encoded | None]:
        """The record's example with a drawn variant of each of its files (no pixels or
        features: the tokens replace them), and those variants."""
        image = self._pick(self.images[record.image], rng) if record.image else None
        clip = self._pick(self.audio[record.audio], rng) if record.audio else None
        text = self.encoder.prompt_text(record)
        if image is not None:
            token = self.encoder.processor.image_token
            text = text.replace(token, token * len(image.tokens), 1)
        if clip is not None:
            token = self.encoder.processor.audio_token
            text = text.replace(token, token * len(clip.tokens), 1)
        tokenizer = self.encoder.tokenizer
        prompt = tokenizer(text, add_special_tokens=False)["input_ids"]
        answer = tokenizer(record.answer, add_special_tokens=False)["input_ids"]
        example = Example(
            prompt,
            [*answer, self.encoder.end_id],
            None,
            image.grid if image else None,
            None,
            clip.mask if clip else None,
        )
        return example, image, clip

    def batch(self, records: Sequence[ChatRecord], rng: np.random.Generator) -> dict:
        """A training batch whose ``inputs_embeds`` hold the banked tokens at the placeholders;
        ``input_ids``, the image grids and the clip masks are kept for the position ids."""
        drawn = [self.example(r, rng) for r in records]
        batch = collate([e for e, _, _ in drawn], self.encoder.pad_id)
        ids = batch["input_ids"]
        embeds = self.model.get_input_embeddings()(ids)
        images = [i.tokens for _, i, _ in drawn if i is not None]
        clips = [c.tokens for _, _, c in drawn if c is not None]
        if images:
            where = (ids == self.image_id).unsqueeze(-1).expand_as(embeds)
            embeds = embeds.masked_scatter(where, torch.cat(images).to(embeds.dtype))
        if clips:
            where = (ids == self.audio_id).unsqueeze(-1).expand_as(embeds)
            embeds = embeds.masked_scatter(where, torch.cat(clips).to(embeds.dtype))
        batch["inputs_embeds"] = embeds
        return batch
