"""Per-modality encoders. Each returns a ModalityEncoding of tokens, a mask and a pooled vector.

Tokens keep their spatial or temporal layout so fusion attention and gradients can be
drawn back onto the image, the text and the spectrogram.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchaudio
from torch import nn

from mmstudio.model_outputs import ModalityEncoding
from mmstudio.models.augment import SpectrogramAugment
from mmstudio.models.config import FusionConfig


def _conv_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def downsampling_cnn(widths: list[int], downsampling: str) -> nn.Sequential:
    """Conv blocks through ``widths`` that halve the map after each block but the last.

    ``"strided"`` halves inside each convolution (a stride-2 conv computes a quarter of the
    outputs); ``"maxpool"``, kept for older checkpoints, convolves at full size and then pools.
    """
    pairs = list(zip(widths[:-1], widths[1:], strict=True))
    layers: list[nn.Module] = []
    for i, (in_channels, out_channels) in enumerate(pairs):
        halve = i < len(pairs) - 1
        if downsampling == "strided":
            layers.append(_conv_block(in_channels, out_channels, stride=2 if halve else 1))
        else:
            layers.append(_conv_block(in_channels, out_channels))
            if halve:
                layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


def downsampled_size(size: int, config: FusionConfig, factor: int = 8) -> int:
    """The side of a CNN map after ``factor``: stride-2 convolutions round up, pooling down."""
    return -(-size // factor) if config.conv_downsampling == "strided" else size // factor


def masked_mean(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.to(tokens.dtype).unsqueeze(-1)
    return (tokens * weights).sum(1) / weights.sum(1).clamp_min(1.0)


class SmallCNNImageEncoder(nn.Module):
    """Four narrow conv blocks down to an (S/8 x S/8) map: cheap enough for live video on a CPU."""

    def __init__(self, config: FusionConfig):
        super().__init__()
        dim = config.dim
        self.features = downsampling_cnn([3, 24, 48, 64, dim], config.conv_downsampling)
        side = downsampled_size(config.image_size, config)
        self.position = nn.Parameter(torch.zeros(1, side * side, dim))
        nn.init.trunc_normal_(self.position, std=0.02)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)

    def forward_tokens(self, feature_map: torch.Tensor) -> ModalityEncoding:
        batch, dim, rows, cols = feature_map.shape
        tokens = feature_map.flatten(2).transpose(1, 2)
        pooled = tokens.mean(1)
        tokens = tokens + self.position[:, : rows * cols]
        mask = torch.ones(batch, rows * cols, dtype=torch.bool, device=tokens.device)
        return ModalityEncoding(tokens, mask, pooled, grid=(rows, cols))


class ResNetImageEncoder(SmallCNNImageEncoder):
    """torchvision's ResNet-18 trunk for larger, natural images (stride 32)."""

    def __init__(self, config: FusionConfig):
        nn.Module.__init__(self)
        from torchvision.models import resnet18

        trunk = resnet18(weights=None)
        self.features = nn.Sequential(
            trunk.conv1,
            trunk.bn1,
            trunk.relu,
            trunk.maxpool,
            trunk.layer1,
            trunk.layer2,
            trunk.layer3,
            trunk.layer4,
            nn.Conv2d(512, config.dim, 1),
        )
        side = max(1, config.image_size // 32)
        self.position = nn.Parameter(torch.zeros(1, side * side, config.dim))
        nn.init.trunc_normal_(self.position, std=0.02)


def build_image_encoder(config: FusionConfig) -> SmallCNNImageEncoder:
    if config.image_encoder == "resnet18":
        return ResNetImageEncoder(config)
    return SmallCNNImageEncoder(config)


class TextEncoder(nn.Module):
    """Character embeddings, a local convolution and a small pre-norm transformer encoder.

    There is no absolute position embedding: the number word may sit anywhere in a
    phrase, and absolute positions let the model memorise where it sat in the training
    templates instead of what it says. The convolution gives each character its
    neighbours (character n-grams), which carries the order information that matters.
    """

    def __init__(self, config: FusionConfig):
        super().__init__()
        self.embedding = nn.Embedding(config.text_vocab_size, config.dim, padding_idx=0)
        # Small initial embeddings: a character never seen in training stays near zero
        # instead of injecting a large random vector.
        nn.init.normal_(self.embedding.weight, std=0.02)
        with torch.no_grad():
            self.embedding.weight[0].zero_()
        self.local = nn.Conv1d(config.dim, config.dim, kernel_size=5, padding=2)
        layer = nn.TransformerEncoderLayer(
            config.dim,
            config.text_heads,
            dim_feedforward=2 * config.dim,
            dropout=config.dropout,
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, config.text_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.dim)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids)

    def forward_tokens(self, embeddings: torch.Tensor, mask: torch.Tensor) -> ModalityEncoding:
        embeddings = embeddings * mask.unsqueeze(-1).to(embeddings.dtype)
        hidden = embeddings + F.gelu(self.local(embeddings.transpose(1, 2)).transpose(1, 2))
        # A row with no characters (text absent) would make attention all-masked and
        # produce NaNs; let it attend to its first pad slot. Its output is replaced by
        # the learned "absent" embedding downstream anyway.
        safe_mask = mask.clone()
        safe_mask[:, 0] |= ~mask.any(1)
        tokens = self.norm(self.encoder(hidden, src_key_padding_mask=~safe_mask))
        return ModalityEncoding(tokens, mask, masked_mean(tokens, mask))


class LogMelFrontend(nn.Module):
    """Waveform -> log-mel (dB) -> a gain-invariant normalised map for the CNN."""

    def __init__(self, config: FusionConfig):
        super().__init__()
        # The filterbank's construction inspects its values, which a model sized on the meta
        # device (see mmstudio.models.validation) cannot do; it is small, so it stays real.
        with torch.device("cpu"):
            self.mel = torchaudio.transforms.MelSpectrogram(
                sample_rate=config.audio_sample_rate,
                n_fft=config.audio_n_fft,
                hop_length=config.audio_hop,
                n_mels=config.audio_n_mels,
            )
        self.hop = config.audio_hop

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        power = self.mel(waveforms)
        return 10.0 * torch.log10(power.clamp_min(1e-10))

    # What normalize() makes of anything 80 dB or more below the clip's peak: silence.
    SILENCE = -2.0

    @staticmethod
    def normalize(decibels: torch.Tensor) -> torch.Tensor:
        # Relative to each clip's peak, so recording gain does not change the input.
        peak = decibels.amax(dim=(-2, -1), keepdim=True)
        return (decibels.clamp_min(peak - 80.0) - peak) / 20.0 + 2.0

    def frames_for(self, sample_counts: torch.Tensor) -> torch.Tensor:
        return sample_counts // self.hop + 1


class AudioEncoder(nn.Module):
    """A CNN over time and frequency; its output grid (bands x steps) gives the tokens."""

    # The CNN's channels before the last block (which widens to config.dim); each block but
    # the last halves the map, so this also fixes the downsampling over time and frequency.
    channels: tuple[int, ...] = (1, 16, 32, 64)

    def __init__(self, config: FusionConfig):
        super().__init__()
        dim = config.dim
        self.downsample = 2 ** (len(self.channels) - 1)
        self.frontend = LogMelFrontend(config)
        self.augment = SpectrogramAugment(
            config.audio_freq_mask,
            config.audio_time_mask,
            config.audio_freq_warp,
            config.audio_eq_db,
        )
        self.cnn = downsampling_cnn([*self.channels, dim], config.conv_downsampling)
        bands = downsampled_size(config.audio_n_mels, config, self.downsample)
        max_frames = (
            int(config.audio_max_seconds * config.audio_sample_rate) // config.audio_hop + 1
        )
        self.band_position = nn.Parameter(torch.zeros(1, bands, 1, dim))
        self.time_position = nn.Parameter(torch.zeros(1, 1, max_frames // self.downsample + 1, dim))
        nn.init.trunc_normal_(self.band_position, std=0.02)
        nn.init.trunc_normal_(self.time_position, std=0.02)

    def forward_tokens(self, normalized: torch.Tensor, frames: torch.Tensor) -> ModalityEncoding:
        grid = self.cnn(self.augment(normalized).unsqueeze(1))  # (B, D, bands, T')
        batch, dim, bands, steps = grid.shape
        grid = grid.permute(0, 2, 3, 1)  # (B, bands, T', D)
        valid_steps = torch.div(
            frames + self.downsample - 1, self.downsample, rounding_mode="floor"
        )
        step_mask = torch.arange(steps, device=grid.device)[None, :] < valid_steps[:, None]
        mask = step_mask[:, None, :].expand(batch, bands, steps).reshape(batch, -1)
        content = grid.reshape(batch, -1, dim)
        pooled = masked_mean(content, mask)
        tokens = (grid + self.band_position + self.time_position[:, :, :steps]).reshape(
            batch, -1, dim
        )
        return ModalityEncoding(
            tokens, mask, pooled, grid=(bands, steps), frames_per_step=self.downsample
        )
