"""Maps for every answer token over the image, the audio's time axis and the user's words.

Two methods, both on the teacher-forced answer:
- occlusion: the drop in each token's log-probability when a cell of the image, a segment of the
  audio or one word is masked (signed: negative where masking made the token more likely). It
  needs nothing of the family but its processor; all masked prompts go in budgeted batches.
- attention: the attention the position predicting each token pays to the image's, the audio's
  and the words' prompt tokens, averaged over layers and heads, through the family's token
  layout (layout.py). It needs the eager attention path, switched on for this one pass.
Which method each modality uses by default is what benchmarks/generation.py measured more
faithful by deletion curves (see BENCHMARKS.md); a modality whose layout attention cannot place
falls back to occlusion, with a note.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from mmstudio.inputs.sample import AudioClip, Sample
from mmstudio.models.generative import layout

METHODS = ("occlusion", "attention")
# Attention by default: it gained more over random deletion orders than occlusion on 7 of the 9
# modality maps benchmarks/generation.py measured (BENCHMARKS.md, "Generation"), and it costs
# one teacher-forced pass where occlusion costs one per cell, segment and word, which keeps
# the explanation within the time of the generation. Those measurements are on random-weight
# models: run the benchmark with --model DIR on a real folder to check them.
DEFAULT_METHODS = {"image": "attention", "audio": "attention", "text": "attention"}
# About this many image cells, shaped to the image's aspect; audio segments of about this long,
# between these counts; at most this many word groups.
IMAGE_CELLS = 16
AUDIO_SEGMENT_SECONDS = 0.25
AUDIO_SEGMENTS = (2, 16)
MAX_WORD_GROUPS = 48
# Time bins of the audio maps when the feature extractor gives no spectrogram to align with.
AUDIO_BINS = 100


def answer_maps(
    model: Any,
    sample: Sample,
    answer_ids: Sequence[int],
    prompt_tokens: int | None = None,
    methods: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The GenerationAnalysis map fields for ``answer_ids`` (T tokens) on ``sample``."""
    chosen = {**DEFAULT_METHODS, **(methods or {})}
    present = [m for m in ("image", "audio", "text") if m in sample.present]
    fields: dict[str, Any] = {"map_methods": {}, "signed_maps": [], "notes": []}
    spectrogram, hop = _spectrogram(model.processor, sample)
    if spectrogram is not None:
        fields["spectrogram"], fields["spectrogram_hop_seconds"] = spectrogram, hop
    words = sample.text.split()[:MAX_WORD_GROUPS] if "text" in present else []
    if "text" in present and len(sample.text.split()) > MAX_WORD_GROUPS:
        words = _grouped_words(sample.text.split(), MAX_WORD_GROUPS)
    fields["prompt_words"] = words
    frames = spectrogram.shape[1] if spectrogram is not None else AUDIO_BINS
    wanted_attention = [m for m in present if chosen[m] == "attention"]
    attention = (
        _attention_maps(model, sample, answer_ids, words, frames) if wanted_attention else {}
    )
    occluded = [m for m in present if chosen[m] == "occlusion" or m not in attention]
    for modality in wanted_attention:
        if modality not in attention:
            fields["notes"].append(
                f"attention maps cannot place this model's {modality} tokens; the {modality} "
                "map shows occlusion"
            )
    occlusion = _occlusion_maps(model, sample, answer_ids, occluded, words, frames, prompt_tokens)
    if "image" in occlusion:
        fields["image_map_box"] = list(layout.WHOLE_IMAGE)
    for modality in present:
        if modality in occlusion:
            token_maps, extra, method = occlusion[modality], {}, "occlusion"
            fields["signed_maps"].append(modality)
        else:
            (token_maps, extra), method = attention[modality], "attention"
        signed = method == "occlusion"
        name = {"image": "image", "audio": "audio", "text": "word"}[modality]
        fields[f"token_{name}_maps"] = _per_token_scaled(token_maps, signed)
        fields[f"answer_{name}_map"] = _answer_map(token_maps, signed)
        fields["map_methods"][modality] = method
        fields.update(extra)
    return fields


def _spectrogram(processor: Any, sample: Sample) -> tuple[np.ndarray | None, float | None]:
    """The log-mel features the model hears (the feature extractor's own), cut to the part of
    the clip it hears, and their hop in seconds; (None, None) without audio or features."""
    extractor = getattr(processor, "feature_extractor", None)
    if "audio" not in sample.present or extractor is None:
        return None, None
    from mmstudio.models.generative.prompt import audio_at

    rate = int(getattr(extractor, "sampling_rate", 16000))
    hop = getattr(extractor, "hop_length", None)
    try:
        features = extractor(audio_at(sample, rate), sampling_rate=rate, return_tensors="np")
    except (TypeError, ValueError):
        return None, None
    values = np.asarray(features.get("input_features", [None])[0])
    if values.ndim != 2 or not hop:
        return None, None
    heard = layout.audio_seconds_covered(processor, sample.audio.duration)
    frames = max(1, min(values.shape[1], int(math.ceil(heard * rate / hop))))
    return values[:, :frames].astype(np.float32), hop / rate


# ---- occlusion -----------------------------------------------------------------------------------


def _occlusion_maps(model, sample, answer_ids, modalities, words, frames, prompt_tokens):
    """Raw drops per modality: image (T, gh, gw) with its box, audio (T, frames), words (T, W)."""
    if not modalities:
        return {}
    variants: list[Sample] = [sample]
    spans: dict[str, slice] = {}
    shapes: dict[str, Any] = {}
    if "image" in modalities:
        masked, grid = _masked_images(sample.image)
        spans["image"] = slice(len(variants), len(variants) + len(masked))
        shapes["image"] = grid
        variants += [_replace(sample, image=image) for image in masked]
    if "audio" in modalities:
        masked, segments = _masked_clips(model.processor, sample.audio)
        spans["audio"] = slice(len(variants), len(variants) + len(masked))
        shapes["audio"] = segments
        variants += [_replace(sample, audio=clip) for clip in masked]
    if "text" in modalities and words:
        texts = [" ".join(words[:i] + words[i + 1 :]) for i in range(len(words))]
        spans["text"] = slice(len(variants), len(variants) + len(texts))
        variants += [_replace(sample, text=text or " ") for text in texts]
    coalitions = [tuple(sample.present)] * len(variants)
    logprobs = model.answer_logprobs(variants, coalitions, answer_ids, prompt_tokens=prompt_tokens)
    drops = logprobs[0][None] - logprobs  # (rows, T): how much masking lowered each token
    out: dict[str, Any] = {}
    if "image" in spans:
        rows, columns = shapes["image"]
        out["image"] = drops[spans["image"]].T.reshape(-1, rows, columns)
    if "audio" in spans:
        out["audio"] = _segments_to_frames(drops[spans["audio"]].T, shapes["audio"], frames)
    if "text" in spans:
        out["text"] = drops[spans["text"]].T
    return out


def _masked_images(image: Image.Image) -> tuple[list[Image.Image], tuple[int, int]]:
    """One copy of the image per grid cell, that cell painted the image's mean colour."""
    image = image.convert("RGB")
    width, height = image.size
    columns = max(1, round(math.sqrt(IMAGE_CELLS * width / height)))
    rows = max(1, round(IMAGE_CELLS / columns))
    fill = tuple(int(v) for v in np.asarray(image, dtype=np.float32).mean((0, 1)))
    masked = []
    for row in range(rows):
        for column in range(columns):
            copy = image.copy()
            box = (
                column * width // columns,
                row * height // rows,
                (column + 1) * width // columns,
                (row + 1) * height // rows,
            )
            copy.paste(fill, box)
            masked.append(copy)
    return masked, (rows, columns)


def _masked_clips(processor, clip: AudioClip) -> tuple[list[AudioClip], np.ndarray]:
    """One copy of the clip per segment of what the model hears, that segment silenced; and the
    segments' bounds as fractions of the heard part."""
    heard = layout.audio_seconds_covered(processor, clip.duration)
    count = int(np.clip(round(heard / AUDIO_SEGMENT_SECONDS), *AUDIO_SEGMENTS))
    bounds = np.linspace(0.0, 1.0, count + 1)
    heard_samples = int(round(heard * clip.sample_rate))
    masked = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        samples = np.array(clip.samples, dtype=np.float32, copy=True)
        samples[int(start * heard_samples) : int(end * heard_samples)] = 0.0
        masked.append(AudioClip(samples, clip.sample_rate, clip.source))
    return masked, bounds


def _segments_to_frames(values: np.ndarray, bounds: np.ndarray, frames: int) -> np.ndarray:
    """(T, segments) -> (T, frames): each frame takes the value of the segment it falls in."""
    centres = (np.arange(frames) + 0.5) / frames
    segment = np.clip(np.searchsorted(bounds, centres, side="right") - 1, 0, len(bounds) - 2)
    return values[:, segment]


def _replace(sample: Sample, **parts) -> Sample:
    values = {"image": sample.image, "text": sample.text, "audio": sample.audio, **parts}
    return Sample(notes=sample.notes, **values)


def _grouped_words(words: list[str], groups: int) -> list[str]:
    """Long prompts in ``groups`` runs of consecutive words, so occlusion stays bounded."""
    bounds = np.linspace(0, len(words), groups + 1).astype(int)
    return [" ".join(words[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


# ---- attention -----------------------------------------------------------------------------------


def _attention_maps(model, sample, answer_ids, words, frames) -> dict[str, Any]:
    """Per modality (T, ...) attention maps and extra fields, for the modalities whose tokens
    the layout places; {} when the model has no eager attention path."""
    hf_model = model.hf_model
    previous = getattr(hf_model.config, "_attn_implementation", None) or "sdpa"
    try:
        hf_model.set_attn_implementation("eager")
    except (ValueError, AttributeError, NotImplementedError):
        return {}
    try:
        _, (inputs, attentions) = model.forced_with_attention(sample, answer_ids)
    finally:
        hf_model.set_attn_implementation(previous)
    if not attentions:
        return {}
    count = len(answer_ids)
    # The position before each answer token is the one that predicts it.
    rows = slice(-count - 1, -1)
    # Layers may differ in shape only by head count; average heads first, then layers.
    weights = np.mean(
        [layer[0, :, rows, :].float().mean(0).cpu().numpy() for layer in attentions], axis=0
    )  # (T, L)
    out: dict[str, Any] = {}
    config = hf_model.config
    if "image" in sample.present:
        placed = layout.image_layout(model.processor, config, inputs, sample.image.size)
        if placed is not None:
            grid = weights[:, placed.positions].reshape(count, *placed.grid)
            out["image"] = (grid, {"image_map_box": list(placed.box)})
    if "audio" in sample.present:
        positions = layout.audio_positions(model.processor, config, inputs)
        if len(positions):
            per_token = weights[:, positions]  # (T, audio tokens) in time order
            bounds = np.linspace(0.0, 1.0, len(positions) + 1)
            out["audio"] = (_segments_to_frames(per_token, bounds, frames), {})
    if "text" in sample.present and words:
        ids = inputs["input_ids"][0].cpu().numpy()
        groups = layout.word_positions(model.tokenizer, ids, words)
        if groups and all(len(g) for g in groups):
            out["text"] = (np.stack([weights[:, g].sum(1) for g in groups], 1), {})
    return out


# ---- scaling -------------------------------------------------------------------------------------


def _per_token_scaled(maps: np.ndarray, signed: bool) -> np.ndarray:
    """Each token's map scaled to [0, 1] (unsigned) or [-1, 1] (signed) by its own peak."""
    maps = np.asarray(maps, dtype=np.float32)
    flat = maps.reshape(len(maps), -1)
    peak = np.abs(flat).max(1) if signed else flat.max(1)
    peak = np.where(peak > 0, peak, 1.0)
    scaled = flat / peak[:, None]
    return (scaled if signed else np.clip(scaled, 0.0, 1.0)).reshape(maps.shape)


def _answer_map(maps: np.ndarray, signed: bool) -> np.ndarray:
    """The whole answer's map: occlusion drops add up over tokens (the drop of the answer's
    log-probability), attention is averaged; scaled as a token's."""
    combined = maps.sum(0) if signed else maps.mean(0)
    return _per_token_scaled(combined[None], signed)[0]
