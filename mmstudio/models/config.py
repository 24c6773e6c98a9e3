"""FusionNet's configuration: everything needed to rebuild the network from config.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

FUSION_STRATEGIES: tuple[str, ...] = ("concat", "late", "gated", "tensor", "attention")
IMAGE_ENCODERS: tuple[str, ...] = ("cnn", "resnet18")


@dataclass
class FusionConfig:
    labels: list[str]
    fusion: str = "attention"
    dim: int = 96
    image_encoder: str = "cnn"
    image_size: int = 64
    text_vocab_size: int = 4096
    text_max_tokens: int = 64
    text_layers: int = 2
    text_heads: int = 4
    audio_sample_rate: int = 16000
    audio_n_mels: int = 64
    audio_n_fft: int = 400
    audio_hop: int = 160
    audio_max_seconds: float = 1.5
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
        if len(self.labels) < 2:
            raise ValueError("a classifier needs at least two labels")
        if self.dim % self.fusion_heads or self.dim % self.text_heads:
            raise ValueError("dim must be divisible by the number of attention heads")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FusionConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
