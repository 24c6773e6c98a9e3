"""A batch of prompts processes each distinct image and clip once.

The explanation's batches repeat the same media in many rows: every coalition with the image
holds the same picture, and every occlusion row that masks a word or an audio segment holds
the same unmasked picture (and clip). The family's image processor and feature extractor
would resize, normalise and patchify every copy again, which on a small model costs more
than the model's own forward pass (profiled in BENCHMARKS.md, "Generation").

``sharing_media(processor)`` is a shallow copy of the processor whose image processor and
feature extractor see each distinct item of a batch (the same object, by identity) once, and
hand back their outputs in the batch's order, as if every item had been processed. Nothing
else of the processor changes: the chat template, the placeholder expansion and the padding
are its own. Outputs are split per item by the conventions the families follow: every tensor
has one entry per item, except patch tensors that are concatenated over items and sized by a
``*_grid_thw`` (Qwen2-VL's dynamic grid). An output that follows neither convention is
processed as the family would, every copy again, so an unknown processor is slower, never
wrong.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

# The keyword each kind of sub-processor takes its items by, when not given by position.
_ITEM_KEYWORDS = ("images", "audio", "raw_speech", "audios")
_SUB_PROCESSORS = ("image_processor", "feature_extractor", "audio_processor")


def sharing_media(processor: Any) -> Any:
    """The processor, with sub-processors that process each distinct item of a batch once."""
    present = [n for n in _SUB_PROCESSORS if getattr(processor, n, None) is not None]
    if not present:
        return processor
    shared = copy.copy(processor)
    for name in present:
        inner = getattr(processor, name)
        if not isinstance(inner, _DistinctItems):
            setattr(shared, name, _DistinctItems(inner))
    return shared


class _DistinctItems:
    """A sub-processor that processes the distinct items of a list and repeats the outputs."""

    def __init__(self, inner: Any):
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        items, rebuild = _items_argument(args, kwargs)
        if items is None:
            return self._inner(*args, **kwargs)
        first_of: dict[Any, int] = {}
        distinct: list[Any] = []
        order: list[int] = []
        for item in items:
            key = _identity(item)
            if key not in first_of:
                first_of[key] = len(distinct)
                distinct.append(item)
            order.append(first_of[key])
        if len(distinct) == len(items):
            return self._inner(*args, **kwargs)
        new_args, new_kwargs = rebuild(distinct)
        output = self._inner(*new_args, **new_kwargs)
        repeated = _repeat(output, _item_sizes(distinct), order)
        if repeated is None:  # not split by item: process every copy, as the family would
            return self._inner(*args, **kwargs)
        return repeated


def _identity(item: Any) -> Any:
    """Items are the same when they are the same object; a row given as a list of images (one
    list per prompt) is the same as another holding the same objects."""
    if isinstance(item, list | tuple):
        return ("row", *(id(part) for part in item))
    return id(item)


def _item_sizes(distinct: list[Any]) -> list[int] | None:
    """How many media each distinct item holds when the items are rows (lists), else None."""
    if distinct and all(isinstance(item, list | tuple) for item in distinct):
        return [len(item) for item in distinct]
    return None


def _items_argument(args, kwargs):
    """The list of items a sub-processor was called with, and how to call it with others."""
    if args and isinstance(args[0], list | tuple):
        return list(args[0]), lambda items: ((list(items), *args[1:]), kwargs)
    for keyword in _ITEM_KEYWORDS:
        if isinstance(kwargs.get(keyword), list | tuple):
            return list(kwargs[keyword]), lambda items, k=keyword: (
                args,
                {**kwargs, k: list(items)},
            )
    return None, None


def _repeat(output: Any, row_sizes: list[int] | None, order: list[int]):
    """``output`` (over the distinct items) as over the items in ``order``, or None when a value
    cannot be split per item. ``row_sizes`` gives each item's media count when the items are
    rows of media: a value then has one entry per row or one per medium."""
    if not hasattr(output, "keys"):
        return None
    count = max(order) + 1
    media = sum(row_sizes) if row_sizes is not None else count
    patches = _patch_counts(output, media)
    values = {}
    for key in output.keys():
        value = output[key]
        pieces = _per_item(value, count, row_sizes, patches)
        if pieces is None:
            return None
        values[key] = _joined([pieces[i] for i in order], value)
    repeated = copy.copy(output)
    for key, value in values.items():
        repeated[key] = value
    return repeated


def _patch_counts(output: Any, media: int) -> list[int] | None:
    """Patches per medium, from a ``*_grid_thw`` with one row per medium (Qwen2-VL)."""
    for key in output.keys():
        if key.endswith("grid_thw"):
            grid = output[key]
            if len(grid) == media:
                return [int(np.prod([int(v) for v in row])) for row in grid]
    return None


def _per_item(value: Any, count: int, row_sizes: list[int] | None, patches: list[int] | None):
    """``value`` cut into one piece per distinct item, or None when its length says neither
    one entry per item, per medium nor per patch."""
    if not hasattr(value, "__len__") or isinstance(value, str | bytes):
        return None
    per_medium = row_sizes if row_sizes is not None else [1] * count
    length = len(value)
    if patches is not None and length == sum(patches) and length != count:
        # Patches concatenated over media: each item takes its media's patches.
        bounds = np.cumsum([0, *patches])
        medium_bounds = np.cumsum([0, *per_medium])
        return [
            value[bounds[a] : bounds[b]]
            for a, b in zip(medium_bounds[:-1], medium_bounds[1:], strict=True)
        ]
    if length == count:
        return [value[i : i + 1] for i in range(count)]
    if row_sizes is not None and length == sum(row_sizes):
        bounds = np.cumsum([0, *row_sizes])
        return [value[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return None


def _joined(pieces: list[Any], like: Any) -> Any:
    if torch.is_tensor(like):
        return torch.cat(pieces, 0)
    if isinstance(like, np.ndarray):
        return np.concatenate(pieces, 0)
    return [item for piece in pieces for item in piece]
