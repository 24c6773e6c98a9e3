"""The floating-point tensors inside whatever a module returns or a stage produces."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import torch


def float_tensors(value, depth: int = 0) -> Iterator[torch.Tensor]:
    """Every floating-point tensor in ``value``: a tensor, or one inside tuples, lists, dicts,
    dataclasses and model outputs (a few levels deep, so a cyclic object cannot hang it)."""
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() and value.numel():
            yield value
        return
    if depth > 4:
        return
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, (tuple, list)):
        children = value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = [getattr(value, f.name) for f in dataclasses.fields(value)]
    else:
        return
    for child in children:
        yield from float_tensors(child, depth + 1)


def all_finite(value) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in float_tensors(value))


def largest_magnitude(value) -> float:
    """The largest finite |x| in ``value`` (0 when there is none)."""
    peak = 0.0
    for tensor in float_tensors(value):
        finite = tensor.detach()[torch.isfinite(tensor.detach())]
        if finite.numel():
            peak = max(peak, float(finite.abs().max()))
    return peak


def what_is_wrong(tensor: torch.Tensor) -> str:
    """'NaN', 'infinite values' or 'NaN and infinite values'."""
    nan = bool(torch.isnan(tensor).any())
    inf = bool(torch.isinf(tensor).any())
    return " and ".join(name for name, found in (("NaN", nan), ("infinite values", inf)) if found)
