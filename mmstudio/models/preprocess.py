"""Samples -> model-ready tensors. The model's config carries the preprocessing it needs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from mmstudio import MODALITIES
from mmstudio.inputs.background import border_colour
from mmstudio.inputs.loudest_window import loudest_window_start
from mmstudio.inputs.resample import resample
from mmstudio.inputs.sample import Sample
from mmstudio.model_outputs import Batch
from mmstudio.models.config import FusionConfig
from mmstudio.models.tokenizer import PAD_ID, CharTokenizer


def letterbox(image: Image.Image, size: int) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Fit the image into a square without distorting it; pad with its border colour.

    Returns the square and the (left, top, width, height) box the image occupies in it.
    """
    image = image.convert("RGB")
    scale = size / max(image.size)
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    resized = image.resize((width, height), Image.Resampling.BILINEAR)
    square = Image.new("RGB", (size, size), border_colour(resized))
    left, top = (size - width) // 2, (size - height) // 2
    square.paste(resized, (left, top))
    return square, (left, top, width, height)


def loudest_window(samples: np.ndarray, length: int) -> tuple[np.ndarray, bool]:
    """The loudest ``length`` samples, and whether anything was cut off."""
    if len(samples) <= length:
        return samples, False
    start = loudest_window_start(samples, length)
    return samples[start : start + length], True


class Preprocessor:
    def __init__(self, config: FusionConfig):
        self.config = config
        self.tokenizer = CharTokenizer(config.text_vocab_size, config.text_max_tokens)
        self.audio_length = int(config.audio_max_seconds * config.audio_sample_rate)

    def __call__(self, samples: Sequence[Sample]) -> Batch:
        size = self.config.image_size
        count = len(samples)
        images = torch.zeros(count, 3, size, size)
        waveforms = torch.zeros(count, self.audio_length)
        waveform_mask = torch.zeros(count, self.audio_length, dtype=torch.bool)
        present = torch.zeros(count, len(MODALITIES), dtype=torch.bool)
        token_lists: list[list[str]] = []
        id_lists: list[list[int]] = []
        boxes, sizes, notes = [], [], []
        for row, sample in enumerate(samples):
            row_notes = list(sample.notes)
            here = sample.present
            present[row] = torch.tensor([m in here for m in MODALITIES])
            box = image_size = None
            if "image" in here:
                square, box = letterbox(sample.image, size)
                image_size = sample.image.size
                pixels = torch.from_numpy(np.asarray(square, dtype=np.float32) / 255.0)
                images[row] = (pixels.permute(2, 0, 1) - 0.5) / 0.5
            tokens, ids = self.tokenizer.encode(sample.text) if "text" in here else ([], [])
            if "text" in here and len(sample.text) > self.tokenizer.max_tokens:
                row_notes.append(
                    f"the model reads the first {self.tokenizer.max_tokens} characters of the text"
                )
            if "audio" in here:
                audio, trimmed = loudest_window(
                    resample(
                        sample.audio.samples,
                        sample.audio.sample_rate,
                        self.config.audio_sample_rate,
                    ),
                    self.audio_length,
                )
                if trimmed:
                    row_notes.append(
                        f"audio longer than {self.config.audio_max_seconds:g} s: the loudest {self.config.audio_max_seconds:g} s were analysed"
                    )
                waveforms[row, : len(audio)] = torch.from_numpy(audio)
                waveform_mask[row, : len(audio)] = True
            token_lists.append(tokens)
            id_lists.append(ids)
            boxes.append(box)
            sizes.append(image_size)
            notes.append(row_notes)
        longest = max(1, max(len(ids) for ids in id_lists))
        text_ids = torch.full((count, longest), PAD_ID, dtype=torch.long)
        for row, ids in enumerate(id_lists):
            text_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        hop_seconds = self.config.audio_hop / self.config.audio_sample_rate
        return Batch(
            images,
            text_ids,
            text_ids != PAD_ID,
            waveforms,
            waveform_mask,
            present,
            token_lists,
            boxes,
            sizes,
            notes,
            hop_seconds,
        )
