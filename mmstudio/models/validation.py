"""What a FusionNet config costs, and whether a weights file fits it, known before allocating.

The network a config describes is first built on PyTorch's meta device: every parameter gets
its shape but no memory, and no initialiser runs (see mmstudio.models.meta_init), so its exact
size and its tensor shapes cost nothing. The weights file's header gives the stored shapes
without reading the data. Only when both agree and the size is within bounds is the file read
and its tensors put in the network's place.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from math import isfinite
from pathlib import Path

import torch

from mmstudio.inputs.errors import InputError
from mmstudio.models.config import FusionConfig
from mmstudio.models.fusionnet import FusionNet
from mmstudio.models.meta_init import SkipMetaInit

# 100 M float32 parameters are 400 MB of weights; loading reads a second copy, and analysis
# needs activations on top, which keeps a model well inside the 2 GB a load may take.
MAX_PARAMETERS = 100_000_000
# Per sample, counted in float32 elements over the largest intermediate maps (see below).
MAX_ACTIVATIONS = 64_000_000
# The fields that make a network big when raised (or, for the hop, lowered).
_SIZE_FIELDS = (
    "dim",
    "image_size",
    "text_vocab_size",
    "text_layers",
    "text_max_tokens",
    "tensor_rank_dim",
    "audio_max_seconds",
    "audio_sample_rate",
    "audio_n_mels",
)
_DEFAULTS = FusionConfig(labels=["a", "b"])


@dataclass(frozen=True)
class Mismatch:
    name: str
    stored: tuple[int, ...] | None  # None: missing from the file
    expected: tuple[int, ...] | None  # None: the config has no such tensor


def meta_network(config: FusionConfig, source: str | Path | None = None) -> FusionNet:
    """The network ``config`` describes, with shapes and no memory, its initialisers not run."""
    try:
        with torch.device("meta"), SkipMetaInit(), warnings.catch_warnings():
            # torchaudio warns of empty mel bands; they are refused below, by field name.
            warnings.simplefilter("ignore", UserWarning)
            network = FusionNet(config)
    except (RuntimeError, ValueError, TypeError) as error:
        raise InputError(f"describes a network that cannot be built ({error})", source) from error
    _check_mel_bands(network, config, source)
    return network


def _check_mel_bands(network: FusionNet, config: FusionConfig, source) -> None:
    """Refuse mel bands that no FFT bin falls in: they are always silent."""
    bank = network.audio_encoder.frontend.mel.mel_scale.fb  # real: see LogMelFrontend
    empty = int((bank.max(dim=0).values == 0).sum())
    if empty:
        raise InputError(
            f"'audio_n_mels' ({config.audio_n_mels}) is too many for 'audio_n_fft' "
            f"({config.audio_n_fft}): {empty} mel bands would get no frequency bin",
            source,
        )


def expected_shapes(network: FusionNet) -> dict[str, tuple[int, ...]]:
    return {name: tuple(tensor.shape) for name, tensor in network.state_dict().items()}


def check_size(config: FusionConfig, network: FusionNet, source: str | Path | None = None) -> None:
    """Refuse a network whose weights or per-sample activations exceed the limits."""
    parameters = network.parameter_count()
    if parameters > MAX_PARAMETERS:
        raise InputError(
            f"describes a network of {parameters:,} parameters ({_gigabytes(parameters)} of "
            f"weights), above the limit of {MAX_PARAMETERS:,}{_raised_fields(config)}",
            source,
        )
    activations = estimated_activations(config)
    largest = max(activations, key=activations.get)
    if activations[largest] > MAX_ACTIVATIONS:
        raise InputError(
            f"describes inputs whose {largest} would take {_gigabytes(activations[largest])} "
            f"per sample, above the limit of {_gigabytes(MAX_ACTIVATIONS)}{_raised_fields(config)}",
            source,
        )


def estimated_activations(config: FusionConfig) -> dict[str, int]:
    """Float elements of the largest maps one sample makes, by the part that makes them.

    The first convolution of each CNN is the widest map (24 and 16 channels at full size, as
    with max pooling); the text transformer holds one score per head and pair of characters.
    """
    side = config.image_size
    frames = config.audio_frames
    return {
        "image feature maps": 24 * side * side,
        "spectrogram feature maps": 16 * config.audio_n_mels * frames,
        "raw audio": config.audio_length,
        "text attention": config.text_heads * config.text_max_tokens**2,
    }


def compare_shapes(
    expected: Mapping[str, tuple[int, ...]], stored: Mapping[str, tuple[int, ...]]
) -> list[Mismatch]:
    names = sorted(set(expected) | set(stored))
    return [
        Mismatch(name, stored.get(name), expected.get(name))
        for name in names
        if stored.get(name) != expected.get(name)
    ]


def classes_in_weights(mismatches: list[Mismatch], labels: int) -> int | None:
    """The class count the weights were trained for, when that is the only difference.

    Only the classifier's last layer depends on the number of labels, so if every mismatching
    tensor differs in exactly one axis, where the config says ``labels`` and the file says
    the same other number, that number is the stored class count.
    """
    found: set[int] = set()
    for mismatch in mismatches:
        stored, expected = mismatch.stored, mismatch.expected
        if stored is None or expected is None or len(stored) != len(expected):
            return None
        axes = [i for i, (a, b) in enumerate(zip(stored, expected, strict=True)) if a != b]
        if len(axes) != 1 or expected[axes[0]] != labels:
            return None
        found.add(stored[axes[0]])
    return found.pop() if len(found) == 1 else None


def describe_mismatch(mismatches: list[Mismatch], config: FusionConfig) -> str:
    first = mismatches[0]
    if first.expected is None:
        detail = f"the file holds {first.name}, which config.json's network has no place for"
    elif first.stored is None:
        detail = f"{first.name} is missing from the file"
    else:
        detail = (
            f"{first.name} is {_shape(first.stored)} in the file but {_shape(first.expected)} "
            "by config.json"
        )
    more = f" (and {len(mismatches) - 1} more tensors)" if len(mismatches) > 1 else ""
    return f"the weights do not match config.json{_width_hint(first, config)}: {detail}{more}"


def _width_hint(mismatch: Mismatch, config: FusionConfig) -> str:
    """Name 'dim' when the first differing axis is the network's width: the usual culprit."""
    if mismatch.stored is None or mismatch.expected is None:
        # Each strategy has its own layers, so another strategy's file differs from the start.
        wrong_strategy = mismatch.name.startswith("fusion.")
        return f" (check 'fusion', which is {config.fusion!r})" if wrong_strategy else ""
    pairs = zip(mismatch.stored, mismatch.expected, strict=False)
    stored = next((a for a, b in pairs if a != b and b == config.dim), None)
    return (
        ""
        if stored is None
        else f" ('dim' is {config.dim} in config.json but {stored} in the weights)"
    )


def first_non_finite(state: Mapping[str, torch.Tensor]) -> str | None:
    """The first tensor holding a NaN or an infinity, or None."""
    names = [
        name for name, tensor in state.items() if tensor.is_floating_point() and tensor.numel()
    ]
    # One fused pass computes every tensor's norm, which NaN and inf make non-finite; an exact
    # check per tensor would start a parallel region each, which takes seconds on a busy CPU.
    # A norm can also overflow for huge finite values, so suspects get the exact check.
    norms = torch._foreach_norm([state[name] for name in names]) if names else []
    suspects = [name for name, norm in zip(names, norms, strict=True) if not isfinite(norm)]
    return next((n for n in suspects if not bool(torch.isfinite(state[n]).all())), None)


def _raised_fields(config: FusionConfig) -> str:
    raised = [
        f"{name} {getattr(config, name):g}"
        for name in _SIZE_FIELDS
        if getattr(config, name) > getattr(_DEFAULTS, name)
    ]
    if config.audio_hop < _DEFAULTS.audio_hop:
        raised.append(f"audio_hop {config.audio_hop}")
    return f"; check {', '.join(raised)}" if raised else ""


def _gigabytes(elements: int) -> str:
    size = elements * 4
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size / 1e3:.1f} kB"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"
