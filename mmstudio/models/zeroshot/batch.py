"""Samples -> the tensors CLIP and CLAP take, with what explanations need to map back.

Each modality's tensors hold only the samples that have it (``*_rows`` says which), so a
batch of images with no audio never runs the audio tower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from mmstudio import MODALITIES
from mmstudio.inputs.resample import resample
from mmstudio.inputs.sample import Sample
from mmstudio.models.preprocess import loudest_window


@dataclass
class ImageRegion:
    """Where the part of the original image that the model sees lies.

    source: (left, top, width, height) in original pixels, the rest was cropped away.
    target: the same area as fractions (left, top, width, height) of the model input,
    which is smaller than 1 only when the processor pads a small image.
    """

    size: tuple[int, int]
    source: tuple[float, float, float, float]
    target: tuple[float, float, float, float]


@dataclass
class ZeroShotBatch:
    """present: (B, 3) bool in MODALITIES order. pixel_values: (n_image, 3, S, S).
    text_ids / text_mask: (n_text, T). input_features: (n_audio, C, frames, n_mels), CLAP's
    log-mel in dB. tokens: per sample, the readable text tokens; token_positions: per text
    row, where those tokens sit in text_ids."""

    present: torch.Tensor
    image_rows: list[int] = field(default_factory=list)
    pixel_values: torch.Tensor | None = None
    image_regions: list[ImageRegion] = field(default_factory=list)
    text_rows: list[int] = field(default_factory=list)
    text_ids: torch.Tensor | None = None
    text_mask: torch.Tensor | None = None
    token_positions: list[list[int]] = field(default_factory=list)
    audio_rows: list[int] = field(default_factory=list)
    input_features: torch.Tensor | None = None
    is_longer: torch.Tensor | None = None
    audio_frames: list[int] = field(default_factory=list)
    tokens: list[list[str]] = field(default_factory=list)
    notes: list[list[str]] = field(default_factory=list)
    hop_seconds: float | None = None

    def to(self, device: torch.device) -> ZeroShotBatch:
        def moved(tensor):
            return tensor.to(device) if tensor is not None else None

        return replace(
            self,
            present=self.present.to(device),
            pixel_values=moved(self.pixel_values),
            text_ids=moved(self.text_ids),
            text_mask=moved(self.text_mask),
            input_features=moved(self.input_features),
            is_longer=moved(self.is_longer),
        )


def build_batch(
    samples: Sequence[Sample],
    *,
    image_processor,
    tokenizer,
    max_tokens: int,
    text_tower: str,
    feature_extractor,
) -> ZeroShotBatch:
    """The whole batch; ``image_processor`` or ``feature_extractor`` is None when the model
    lacks that tower (the model has already refused samples that would need it)."""
    batch = ZeroShotBatch(present=presence(samples), notes=[list(s.notes) for s in samples])
    if image_processor is not None:
        batch.image_rows, batch.pixel_values, batch.image_regions = prepare_images(
            samples, image_processor
        )
    text = prepare_text(samples, tokenizer, max_tokens, text_tower)
    batch.text_rows, batch.text_ids, batch.text_mask, batch.token_positions = (
        text.rows,
        text.ids,
        text.mask,
        text.positions,
    )
    audio = prepare_audio(samples, feature_extractor) if feature_extractor is not None else None
    if audio is not None:
        batch.audio_rows, batch.input_features, batch.is_longer = (
            audio.rows,
            audio.features,
            audio.is_longer,
        )
        batch.audio_frames, batch.hop_seconds = audio.frames, audio.hop_seconds
    batch.tokens = [text.tokens.get(row, []) for row in range(len(samples))]
    for row, notes in enumerate(batch.notes):
        notes += text.notes.get(row, []) + (audio.notes.get(row, []) if audio is not None else [])
    return batch


def presence(samples: Sequence[Sample]) -> torch.Tensor:
    return torch.tensor([[m in s.present for m in MODALITIES] for s in samples], dtype=torch.bool)


def rows_with(samples: Sequence[Sample], modality: str) -> list[int]:
    return [row for row, sample in enumerate(samples) if modality in sample.present]


# --- images -------------------------------------------------------------------------------


def _size_value(size, key: str):
    # transformers 5 gives a SizeDict, earlier releases a plain dict.
    if size is None:
        return None
    return size.get(key) if isinstance(size, dict) else getattr(size, key, None)


def image_region(image_size: tuple[int, int], processor) -> ImageRegion:
    """Follow the processor's resize and centre crop to find what part of the image it keeps."""
    width, height = image_size
    size = getattr(processor, "size", None)
    resized_w, resized_h = float(width), float(height)
    if getattr(processor, "do_resize", True) and _size_value(size, "shortest_edge"):
        scale = _size_value(size, "shortest_edge") / min(width, height)
        resized_w, resized_h = width * scale, height * scale
    elif getattr(processor, "do_resize", True) and _size_value(size, "height"):
        resized_w, resized_h = float(_size_value(size, "width")), float(_size_value(size, "height"))
    crop = getattr(processor, "crop_size", None)
    crop_w, crop_h = resized_w, resized_h
    if getattr(processor, "do_center_crop", False) and _size_value(crop, "height"):
        crop_w, crop_h = float(_size_value(crop, "width")), float(_size_value(crop, "height"))
    kept_w, kept_h = min(crop_w, resized_w) / resized_w, min(crop_h, resized_h) / resized_h
    filled_w, filled_h = min(crop_w, resized_w) / crop_w, min(crop_h, resized_h) / crop_h
    source = ((1 - kept_w) / 2 * width, (1 - kept_h) / 2 * height, kept_w * width, kept_h * height)
    target = ((1 - filled_w) / 2, (1 - filled_h) / 2, filled_w, filled_h)
    return ImageRegion((width, height), source, target)


def prepare_images(
    samples: Sequence[Sample], processor
) -> tuple[list[int], torch.Tensor | None, list[ImageRegion]]:
    rows = rows_with(samples, "image")
    if not rows:
        return rows, None, []
    images = [samples[row].image.convert("RGB") for row in rows]
    pixels = processor(images=images, return_tensors="pt")["pixel_values"]
    return rows, pixels, [image_region(image.size, processor) for image in images]


# --- text ---------------------------------------------------------------------------------


@dataclass
class PreparedText:
    rows: list[int]
    ids: torch.Tensor | None
    mask: torch.Tensor | None
    positions: list[list[int]]
    tokens: dict[int, list[str]]
    notes: dict[int, list[str]]


def prepare_text(samples: Sequence[Sample], tokenizer, max_tokens: int, tower: str) -> PreparedText:
    rows = rows_with(samples, "text")
    if not rows:
        return PreparedText(rows, None, None, [], {}, {})
    texts = [samples[row].text for row in rows]
    encoded = tokenizer(
        texts,
        padding=True,
        truncation=True,
        max_length=max_tokens,
        return_special_tokens_mask=True,
        return_tensors="pt",
    )
    full_lengths = [len(ids) for ids in tokenizer(texts, truncation=False)["input_ids"]]
    positions, tokens, notes = [], {}, {}
    for index, row in enumerate(rows):
        real = (
            encoded["attention_mask"][index].bool() & ~encoded["special_tokens_mask"][index].bool()
        )
        where = real.nonzero().flatten().tolist()
        positions.append(where)
        tokens[row] = [_readable(tokenizer, int(encoded["input_ids"][index, p])) for p in where]
        if full_lengths[index] > max_tokens:
            notes[row] = [
                f"the text was cut to {max_tokens} tokens, the most the {tower} text tower reads"
            ]
    return PreparedText(
        rows, encoded["input_ids"], encoded["attention_mask"], positions, tokens, notes
    )


def _readable(tokenizer, token_id: int) -> str:
    # Decoding one id undoes byte-level BPE (Ġ for a space) and CLIP's "</w>" word ends.
    text = tokenizer.decode([token_id]).strip()
    return text or tokenizer.convert_ids_to_tokens(token_id).replace("</w>", "").replace(
        "\u0120", ""
    )


# --- audio --------------------------------------------------------------------------------


@dataclass
class PreparedAudio:
    rows: list[int]
    features: torch.Tensor | None
    is_longer: torch.Tensor | None
    frames: list[int]
    notes: dict[int, list[str]]
    hop_seconds: float | None


def prepare_audio(samples: Sequence[Sample], extractor) -> PreparedAudio:
    rows = rows_with(samples, "audio")
    rate = int(extractor.sampling_rate)
    hop_seconds = extractor.hop_length / rate
    if not rows:
        return PreparedAudio(rows, None, None, [], {}, hop_seconds)
    limit = int(extractor.nb_max_samples)
    waves, frames, notes = [], [], {}
    for row in rows:
        wave, trimmed = loudest_window(
            resample(samples[row].audio.samples, samples[row].audio.sample_rate, rate), limit
        )
        if trimmed:
            notes[row] = [
                f"CLAP hears at most {limit / rate:g} s: the loudest {limit / rate:g} s of the clip were kept"
            ]
        waves.append(wave.astype(np.float64))
        frames.append(len(wave) // extractor.hop_length + 1)
    features = extractor(waves, sampling_rate=rate, return_tensors="pt")["input_features"]
    # Every clip now fits CLAP's window, so none is "longer": this also stops the extractor's
    # random choice of a clip to treat as longer, which would make analyses irreproducible.
    is_longer = torch.zeros(len(rows), 1, dtype=torch.bool)
    frames = [min(count, features.shape[2]) for count in frames]
    return PreparedAudio(rows, features.float(), is_longer, frames, notes, hop_seconds)
