"""FusionNet's configuration: everything needed to rebuild the network from config.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

FUSION_STRATEGIES: tuple[str, ...] = ("concat", "late", "gated", "tensor", "attention")
IMAGE_ENCODERS: tuple[str, ...] = ("cnn", "resnet18")
# How the small image and audio CNNs halve their maps: a stride-2 convolution costs a quarter of
# a full-size one plus a pooling pass, which is most of the encoders' CPU time.
CONV_DOWNSAMPLING: tuple[str, ...] = ("strided", "maxpool")
# Checkpoints from before the choice existed all used max pooling.
_LEGACY_DEFAULTS: dict[str, Any] = {"conv_downsampling": "maxpool"}


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
        if self.fusion not in FUSION_STRATEGIES:
            raise ValueError(
                f"unknown fusion strategy {self.fusion!r}; choose one of {', '.join(FUSION_STRATEGIES)}"
            )
        if self.image_encoder not in IMAGE_ENCODERS:
            raise ValueError(
                f"unknown image encoder {self.image_encoder!r}; choose one of {', '.join(IMAGE_ENCODERS)}"
            )
        if self.conv_downsampling not in CONV_DOWNSAMPLING:
            raise ValueError(
                f"unknown conv downsampling {self.conv_downsampling!r}; "
                f"choose one of {', '.join(CONV_DOWNSAMPLING)}"
            )
        if len(self.labels) < 2:
            raise ValueError("a classifier needs at least two labels")
        if self.dim % self.fusion_heads or self.dim % self.text_heads:
            raise ValueError("dim must be divisible by the number of attention heads")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FusionConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{**_LEGACY_DEFAULTS, **{k: v for k, v in data.items() if k in known}})
