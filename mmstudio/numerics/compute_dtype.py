"""The dtype a model computes in, read off its real forward pass.

The parameters' dtype is not the answer: under autocast (the zero-shot backend's own on a GPU,
or a caller's) float32 weights multiply in bfloat16 or float16. What counts is the dtype the
matrix products produce, so that is what is recorded: the outputs of the layers that multiply
by weights (linear, convolution, attention), as they ran.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

import torch
from torch import nn

_MULTIPLYING = (nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd, nn.MultiheadAttention)
# PyTorch's transformer layers leave their fused inference kernel for the slow path when any of
# their modules has a hook, and the slow path's first padding-mask check imports sympy (a third
# of a second, on every start). Their encoder is watched instead: its output is their products.
_FUSED_LAYERS = (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)
_FUSED_STACKS = (nn.TransformerEncoder, nn.TransformerDecoder)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def parameter_dtype(model: nn.Module) -> str:
    """The dtype most of the model's floating-point parameters are stored in."""
    if not isinstance(model, nn.Module):
        return "unknown"
    counts = Counter(dtype_name(p.dtype) for p in model.parameters() if p.is_floating_point())
    return counts.most_common(1)[0][0] if counts else "unknown"


class ComputeDtype:
    """Counts the dtypes the multiplying layers of a model output while it is watched."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    @property
    def name(self) -> str:
        """The dtype most of the matrix products ran in, '' before any ran; several, most
        frequent first and joined by '+', when the model mixes them."""
        return "+".join(name for name, _ in self.seen.most_common())

    def note(self, output) -> None:
        tensor = output[0] if isinstance(output, tuple) else output
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
            self.seen[dtype_name(tensor.dtype)] += 1

    @contextmanager
    def watching(self, model: nn.Module):
        layers = _watched_layers(model) if isinstance(model, nn.Module) else []
        handles = [
            layer.register_forward_hook(lambda _m, _i, output: self.note(output))
            for layer in layers
        ]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()


def _watched_layers(model: nn.Module) -> list[nn.Module]:
    inside_fused = {
        id(sub)
        for layer in model.modules()
        if isinstance(layer, _FUSED_LAYERS)
        for sub in layer.modules()
    }
    return [
        m
        for m in model.modules()
        if isinstance(m, _FUSED_STACKS)
        or (isinstance(m, _MULTIPLYING) and id(m) not in inside_fused)
    ]
