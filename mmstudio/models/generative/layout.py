"""Where a family's prompt puts the image, the audio and the user's words, in token positions.

Found from the processor's conventions, not from the family's name: the image placeholder token
(``processor.image_token``), its grid (Qwen2-VL's merged dynamic ``image_grid_thw``, or a square
fixed grid), the part of the image that grid covers (a centre crop covers less than the image),
the audio placeholder token and how much of the clip its tokens span (the feature extractor's
chunk), and the user's words as a run of the prompt's tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

WHOLE_IMAGE = (0.0, 0.0, 1.0, 1.0)


@dataclass(frozen=True)
class ImageLayout:
    positions: np.ndarray  # token positions of the image, row-major over the grid
    grid: tuple[int, int]  # (rows, columns)
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the image


def token_ids(processor: Any, model_config: Any, kind: str) -> list[int]:
    """The ids that may be the ``kind`` ("image" or "audio") placeholder the processor expands
    into one token per grid cell or time step: the model config's (the id whose positions the
    model fills with the media's features), then the processor's and the tokenizer's. They can
    differ: Gemma 3's processor calls its begin-of-image token ``image_token``, while the soft
    tokens the features fill are the tokenizer's ``image_token``."""
    tokenizer = getattr(processor, "tokenizer", processor)
    found: list[int] = []
    for name in (f"{kind}_token_id", f"{kind}_token_index"):
        ident = getattr(model_config, name, None)
        if isinstance(ident, int):
            found.append(ident)
    for source in (processor, tokenizer):
        ident = getattr(source, f"{kind}_token_id", None)
        if isinstance(ident, int):
            found.append(ident)
        token = getattr(source, f"{kind}_token", None)
        if isinstance(token, str):
            ident = tokenizer.convert_tokens_to_ids(token)
            if isinstance(ident, int) and ident != tokenizer.unk_token_id:
                found.append(ident)
    return list(dict.fromkeys(found))


def placeholder_positions(processor: Any, model_config: Any, inputs: Any, kind: str) -> np.ndarray:
    """The first prompt's positions of the ``kind`` placeholder: of the candidate ids, the one
    the prompt holds most often (the expanded placeholder, not a begin or end marker)."""
    ids = inputs["input_ids"][0].cpu().numpy()
    best = np.zeros(0, dtype=np.int64)
    for ident in token_ids(processor, model_config, kind):
        positions = np.flatnonzero(ids == ident)
        if len(positions) > len(best):
            best = positions
    return best


def image_layout(processor: Any, model_config: Any, inputs: Any, image_size) -> ImageLayout | None:
    """The image's tokens as a grid over the image, or None for a layout this cannot place
    (several tiles, an unknown token count): the image's maps then come from occlusion."""
    positions = placeholder_positions(processor, model_config, inputs, "image")
    count = len(positions)
    if count == 0 or _tiled(inputs):
        return None
    grid = _grid(processor, model_config, inputs, count)
    if grid is None:
        return None
    return ImageLayout(positions, grid, _covered_box(processor, image_size))


def _tiled(inputs: Any) -> bool:
    """Whether the processor cut the prompt's one image into several views (AnyRes tiles, a
    global view plus crops): pixel values of (images, views, channels, height, width) with more
    than one view, or (views, channels, height, width) with more than one (Gemma 3's pan and
    scan). The tokens of the views cannot be laid on one grid over the image."""
    pixels = inputs.get("pixel_values") if hasattr(inputs, "get") else None
    if pixels is None:
        return False
    return (pixels.dim() == 5 and pixels.shape[1] > 1) or (pixels.dim() == 4 and len(pixels) > 1)


def _grid(processor, model_config, inputs, count: int) -> tuple[int, int] | None:
    thw = inputs.get("image_grid_thw") if hasattr(inputs, "get") else None
    if thw is not None and len(thw) == 1:
        frames, height, width = (int(v) for v in thw[0])
        merge = _merge_size(processor, model_config)
        rows, columns = height // merge, width // merge
        if frames * rows * columns == count:
            return rows, columns * frames if frames == 1 else None
    side = math.isqrt(count)
    return (side, side) if side * side == count else None


def _merge_size(processor, model_config) -> int:
    vision = getattr(model_config, "vision_config", None)
    for source in (getattr(processor, "image_processor", None), vision):
        merge = getattr(source, "merge_size", None) or getattr(source, "spatial_merge_size", None)
        if isinstance(merge, int):
            return merge
    return 1


def _covered_box(processor, image_size) -> tuple[float, float, float, float]:
    """The part of the image the grid covers: all of it, unless the image processor resizes the
    short side and then crops the centre (CLIP-style)."""
    images = getattr(processor, "image_processor", None)
    crop = getattr(images, "crop_size", None)
    if images is None or not getattr(images, "do_center_crop", False) or crop is None:
        return WHOLE_IMAGE
    size = getattr(images, "size", None)
    short = _get(size, "shortest_edge")
    crop_h, crop_w = _get(crop, "height"), _get(crop, "width")
    if not short or not crop_h or not crop_w:
        return WHOLE_IMAGE
    width, height = image_size
    scale = short / min(width, height)
    covered_w = min(1.0, crop_w / (width * scale))
    covered_h = min(1.0, crop_h / (height * scale))
    x0, y0 = (1.0 - covered_w) / 2, (1.0 - covered_h) / 2
    return (x0, y0, x0 + covered_w, y0 + covered_h)


def _get(size, key):
    if size is None:
        return None
    value = size.get(key) if isinstance(size, dict) else getattr(size, key, None)
    return int(value) if value else None


def audio_positions(processor: Any, model_config: Any, inputs: Any) -> np.ndarray:
    return placeholder_positions(processor, model_config, inputs, "audio")


def audio_seconds_covered(processor: Any, duration: float) -> float:
    """How much of a clip the model hears: feature extractors with a chunk length cut there."""
    extractor = getattr(processor, "feature_extractor", None)
    chunk = getattr(extractor, "chunk_length", None)
    return min(duration, float(chunk)) if chunk else duration


def word_positions(tokenizer: Any, input_ids: np.ndarray, words: list[str]) -> list[np.ndarray]:
    """For each of the user's ``words``, the prompt positions of its tokens ([] when the text
    cannot be found as one run of tokens in the prompt: its maps then come from occlusion)."""
    text = " ".join(words)
    for variant in (text, " " + text):
        encoded = tokenizer(variant, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(encoded["input_ids"])
        start = _find(list(input_ids), ids)
        if start is None:
            continue
        bounds = _word_bounds(variant, words)
        groups: list[list[int]] = [[] for _ in words]
        for offset, (begin, _end) in enumerate(encoded["offset_mapping"]):
            word = _word_at(bounds, begin)
            if word is not None:
                groups[word].append(start + offset)
        return [np.asarray(group, dtype=np.int64) for group in groups]
    return []


def _find(haystack: list[int], needle: list[int]) -> int | None:
    if not needle:
        return None
    last = None
    for start in range(len(haystack) - len(needle) + 1):
        if haystack[start : start + len(needle)] == needle:
            last = start  # the user's turn is the last place the text appears
    return last


def _word_bounds(text: str, words: list[str]) -> list[tuple[int, int]]:
    bounds, cursor = [], 0
    for word in words:
        begin = text.index(word, cursor)
        bounds.append((begin, begin + len(word)))
        cursor = begin + len(word)
    return bounds


def _word_at(bounds: list[tuple[int, int]], position: int) -> int | None:
    for index, (begin, end) in enumerate(bounds):
        if position < end and position >= begin - 1:  # a leading space belongs to the word
            return index
    return None
