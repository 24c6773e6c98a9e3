"""FusionNet's configuration: everything needed to rebuild the network from config.json.

Every field is checked against :data:`FIELD_RULES` when a config is made, whether it comes from
a config.json, ``mmstudio train --set`` or a saved training state: a wrong type or an absurd
size is reported by field name before any tensor exists. The size of the network a valid config
describes is checked separately (:mod:`mmstudio.models.validation`), since that needs the network.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from mmstudio.inputs.errors import InputError

FUSION_STRATEGIES: tuple[str, ...] = ("concat", "late", "gated", "tensor", "attention")
IMAGE_ENCODERS: tuple[str, ...] = ("cnn", "resnet18")
# How the small image and audio CNNs halve their maps: a stride-2 convolution costs a quarter of
# a full-size one plus a pooling pass, which is most of the encoders' CPU time.
CONV_DOWNSAMPLING: tuple[str, ...] = ("strided", "maxpool")
# Checkpoints from before the choice existed all used max pooling.
_LEGACY_DEFAULTS: dict[str, Any] = {"conv_downsampling": "maxpool"}
# The CNNs halve their maps three times; smaller inputs leave nothing to halve.
MIN_MAP_SIDE = 8
# The character tokenizer keeps 96 ids for printable ASCII and padding, and hashes the rest.
MIN_VOCAB_SIZE = 98
MAX_LABELS = 100_000


class ConfigError(InputError):
    """A configuration field with a wrong type or value; ``field`` names it."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(f"'{field_name}' {message}")


@dataclass(frozen=True)
class Rule:
    """What one field may hold: a JSON type and, for numbers, an inclusive range."""

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    # Floats whose lower bound is itself refused (a temperature of 0 divides by zero).
    open_low: bool = False
    open_high: bool = False

    def check(self, name: str, value: Any) -> None:
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(name, f"must be a whole number{self._range()}, not {value!r}")
        elif self.kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(name, f"must be a number{self._range()}, not {value!r}")
            if not math.isfinite(value):
                raise ConfigError(name, f"must be a finite number{self._range()}, not {value!r}")
        elif not isinstance(value, self.kind):
            wanted = _KIND_NAMES.get(self.kind, self.kind.__name__)
            raise ConfigError(name, f"must be {wanted}, not {json_kind(value)}")
        if self.choices and value not in self.choices:
            raise ConfigError(name, f"is {value!r}; choose one of {', '.join(self.choices)}")
        if self.low is not None and (value < self.low or (self.open_low and value == self.low)):
            raise ConfigError(name, f"is {value!r}; it must be{self._range()}")
        if self.high is not None and (value > self.high or (self.open_high and value == self.high)):
            raise ConfigError(name, f"is {value!r}; it must be{self._range()}")

    def _range(self) -> str:
        if self.low is None or self.high is None:
            return ""
        low, high = _number(self.low), _number(self.high)
        if self.open_low:
            return f" above {low} and at most {high}"
        return f" from {low} to {'below ' if self.open_high else ''}{high}"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _whole(low: int, high: int) -> Rule:
    return Rule(int, low, high)


def _fraction(high: float = 1.0, open_high: bool = True) -> Rule:
    return Rule(float, 0.0, high, open_high=open_high)


FIELD_RULES: dict[str, Rule] = {
    "labels": Rule(list),
    "fusion": Rule(str, choices=FUSION_STRATEGIES),
    "dim": _whole(1, 8192),
    "image_encoder": Rule(str, choices=IMAGE_ENCODERS),
    "image_size": _whole(MIN_MAP_SIDE, 1024),
    "conv_downsampling": Rule(str, choices=CONV_DOWNSAMPLING),
    "text_vocab_size": _whole(MIN_VOCAB_SIZE, 1_000_000),
    "text_max_tokens": _whole(1, 2048),
    "text_layers": _whole(1, 48),
    "text_heads": _whole(1, 64),
    "audio_sample_rate": _whole(1000, 192_000),
    "audio_n_mels": _whole(MIN_MAP_SIDE, 512),
    "audio_n_fft": _whole(16, 8192),
    "audio_hop": _whole(1, 8192),
    "audio_max_seconds": Rule(float, 0.0, 120.0, open_low=True),
    "audio_freq_mask": _whole(0, 512),
    "audio_time_mask": _whole(0, 100_000),
    "audio_freq_warp": _fraction(0.5, open_high=False),
    "audio_eq_db": Rule(float, 0.0, 60.0),
    "fusion_heads": _whole(1, 64),
    "tensor_rank_dim": _whole(1, 64),
    "dropout": _fraction(),
    "modality_dropout": _fraction(),
    # Softmax temperature: logits are divided by it, so 0 (or nearly) turns them into inf/NaN.
    "temperature": Rule(float, 1e-3, 1e3),
    "name": Rule(str),
    "description": Rule(str),
    "extra": Rule(dict),
}


@dataclass
class FusionConfig:
    labels: list[str]
    fusion: str = "attention"
    dim: int = 96
    image_encoder: str = "cnn"
    image_size: int = 64
    conv_downsampling: str = "strided"
    text_vocab_size: int = 4096
    text_max_tokens: int = 64
    text_layers: int = 2
    text_heads: int = 4
    audio_sample_rate: int = 16000
    audio_n_mels: int = 64
    audio_n_fft: int = 400
    audio_hop: int = 160
    audio_max_seconds: float = 1.5
    # Training-only spectrogram augmentation (see mmstudio.models.augment); 0 turns one off.
    audio_freq_mask: int = 8  # widest masked band, in mel bins
    audio_time_mask: int = 16  # longest masked span, in frames
    audio_freq_warp: float = 0.1  # largest frequency stretch, as a fraction
    audio_eq_db: float = 10.0  # largest random equaliser gain, in dB
    fusion_heads: int = 4
    tensor_rank_dim: int = 16
    dropout: float = 0.1
    modality_dropout: float = 0.3
    # Softmax temperature fitted on validation data after training (calibration).
    temperature: float = 1.0
    name: str = "fusionnet"
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, rule in FIELD_RULES.items():
            rule.check(name, getattr(self, name))
        _check_labels(self.labels)
        _check_relations(self)

    @property
    def audio_length(self) -> int:
        """Samples in the longest clip the model reads."""
        return int(self.audio_max_seconds * self.audio_sample_rate)

    @property
    def audio_frames(self) -> int:
        """Spectrogram frames of the longest clip."""
        return self.audio_length // self.audio_hop + 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> FusionConfig:
        """A config from parsed JSON; unknown keys are ignored (newer files stay readable)."""
        if not isinstance(data, dict):
            raise ConfigError("(top level)", f"must be a JSON object, not {json_kind(data)}")
        if "labels" not in data:
            raise ConfigError("labels", "is missing: a classifier needs its labels")
        known = {f.name for f in fields(cls)}
        return cls(**{**_LEGACY_DEFAULTS, **{k: v for k, v in data.items() if k in known}})


def _check_labels(labels: list[Any]) -> None:
    if not 2 <= len(labels) <= MAX_LABELS:
        raise ConfigError("labels", f"lists {len(labels)}; a classifier needs 2 to {MAX_LABELS:,}")
    seen: set[str] = set()
    for label in labels:
        if not isinstance(label, str) or not label.strip():
            raise ConfigError("labels", f"must all be non-empty strings, not {label!r}")
        if "\n" in label or "\r" in label:
            raise ConfigError("labels", f"must fit on one line of labels.txt: {label!r}")
        if label in seen:
            raise ConfigError("labels", f"lists {label!r} more than once")
        seen.add(label)


def _check_relations(config: FusionConfig) -> None:
    """Rules between fields: each one is a shape the layers could not be built with."""
    for heads in ("fusion_heads", "text_heads"):
        if config.dim % getattr(config, heads):
            raise ConfigError(
                heads, f"({getattr(config, heads)}) must divide dim ({config.dim}) evenly"
            )
    bins = config.audio_n_fft // 2 + 1
    if config.audio_n_mels > bins:
        raise ConfigError(
            "audio_n_mels",
            f"({config.audio_n_mels}) exceeds the {bins} frequency bins of audio_n_fft "
            f"{config.audio_n_fft}",
        )
    if config.audio_hop > config.audio_n_fft:
        raise ConfigError("audio_hop", f"({config.audio_hop}) exceeds audio_n_fft")
    if config.audio_length <= config.audio_n_fft:
        raise ConfigError(
            "audio_max_seconds",
            f"({config.audio_max_seconds:g} s) is shorter than one audio_n_fft window",
        )
    if config.audio_frames < MIN_MAP_SIDE:
        raise ConfigError(
            "audio_max_seconds",
            f"({config.audio_max_seconds:g} s) gives fewer than {MIN_MAP_SIDE} spectrogram frames",
        )
    if config.audio_freq_mask > config.audio_n_mels:
        raise ConfigError("audio_freq_mask", "is wider than audio_n_mels")


_KIND_NAMES = {list: "an array", dict: "a JSON object", str: "a string"}


def json_kind(value: Any) -> str:
    """What a parsed JSON value is, in JSON's words."""
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    return _KIND_NAMES.get(type(value), "a number")
