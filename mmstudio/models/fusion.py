"""Fusion strategies. Each maps encoder outputs under a presence mask to logits.

Every head takes ``presence`` of shape (B, K, M): K coalitions of modalities per
sample. Encoders run once per sample; only these heads run per coalition, which is
what makes exact Shapley values over modalities cost about one extra head pass.
A modality that is absent in a coalition is replaced by its learned "absent"
embedding, the same substitution the model saw under modality dropout in training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mmstudio import MODALITIES
from mmstudio.model_outputs import FusionOutput, ModalityEncoding
from mmstudio.models.config import FusionConfig


def _classifier(in_features: int, hidden: int, classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.LayerNorm(in_features),
        nn.Linear(in_features, hidden),
        nn.GELU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, classes),
    )


def _logits_and_embedding(
    head: nn.Sequential, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The head's logits and the vector its last layer reads: the fused pre-logit embedding."""
    embedding = head[:-1](x)
    return head[-1](embedding), embedding


def _share(magnitudes: torch.Tensor) -> torch.Tensor:
    return magnitudes / magnitudes.sum(-1, keepdim=True).clamp_min(1e-12)


class PooledFusion(nn.Module):
    """Base for strategies that fuse one pooled vector per modality."""

    def __init__(self, config: FusionConfig):
        super().__init__()
        self.absent = nn.Parameter(torch.zeros(len(MODALITIES), config.dim))
        nn.init.normal_(self.absent, std=0.02)

    def pooled_inputs(
        self, encodings: dict[str, ModalityEncoding], presence: torch.Tensor
    ) -> torch.Tensor:
        """(B, K, M, D): each modality's pooled vector, or its absent embedding."""
        pooled = torch.stack([encodings[m].pooled for m in MODALITIES], dim=1)  # (B, M, D)
        keep = presence.unsqueeze(-1).to(pooled.dtype)
        return keep * pooled.unsqueeze(1) + (1 - keep) * self.absent


class ConcatFusion(PooledFusion):
    """Early fusion: concatenate the modality vectors and classify with one MLP."""

    def __init__(self, config: FusionConfig):
        super().__init__(config)
        count = len(MODALITIES)
        self.norm = nn.LayerNorm(config.dim)
        self.project = nn.Linear(count * config.dim, config.dim)
        self.head = nn.Sequential(
            nn.GELU(), nn.Dropout(config.dropout), nn.Linear(config.dim, len(config.labels))
        )

    def forward(self, encodings, presence, **_) -> FusionOutput:
        x = self.norm(self.pooled_inputs(encodings, presence))  # (B, K, M, D)
        per_modality = torch.einsum(
            "bkmd,hmd->bkmh", x, self.project.weight.view(-1, x.shape[2], x.shape[3])
        )
        hidden = per_modality.sum(2) + self.project.bias
        # How large each modality's share of the first layer's input is: the model's
        # own weighting of the modalities.
        weights = _share(per_modality.norm(dim=-1))
        logits, embedding = _logits_and_embedding(self.head, hidden)
        return FusionOutput(logits, weights, embedding=embedding)


class LateFusion(PooledFusion):
    """Late fusion: each modality has its own classifier; their log-probabilities are averaged."""

    def __init__(self, config: FusionConfig):
        super().__init__(config)
        self.heads = nn.ModuleList(
            _classifier(config.dim, config.dim, len(config.labels), config.dropout)
            for _ in MODALITIES
        )

    def forward(self, encodings, presence, **_) -> FusionOutput:
        x = self.pooled_inputs(encodings, presence)
        log_probs = torch.stack(
            [F.log_softmax(head(x[:, :, i]), -1) for i, head in enumerate(self.heads)], 2
        )
        weights = torch.full(presence.shape, 1.0 / presence.shape[-1], device=x.device)
        return FusionOutput(log_probs.mean(2), weights)


class GatedFusion(PooledFusion):
    """Gated multimodal unit (Arevalo et al., 2017) generalised to M modalities."""

    def __init__(self, config: FusionConfig):
        super().__init__(config)
        count, dim = len(MODALITIES), config.dim
        self.transforms = nn.ModuleList(nn.Linear(dim, dim) for _ in MODALITIES)
        self.gate = nn.Linear(count * dim, count * dim)
        self.head = _classifier(dim, dim, len(config.labels), config.dropout)

    def forward(self, encodings, presence, **_) -> FusionOutput:
        x = self.pooled_inputs(encodings, presence)  # (B, K, M, D)
        batch, coalitions, count, dim = x.shape
        hidden = torch.stack([torch.tanh(t(x[:, :, i])) for i, t in enumerate(self.transforms)], 2)
        gates = self.gate(x.reshape(batch, coalitions, count * dim)).view(
            batch, coalitions, count, dim
        )
        gates = gates.softmax(dim=2)
        fused = (gates * hidden).sum(2)
        logits, embedding = _logits_and_embedding(self.head, fused)
        return FusionOutput(logits, gates.mean(-1), embedding=embedding)


class TensorFusion(PooledFusion):
    """Tensor fusion (Zadeh et al., 2017): the outer product of [z_m, 1] over modalities."""

    def __init__(self, config: FusionConfig):
        super().__init__(config)
        rank = config.tensor_rank_dim
        self.reduce = nn.ModuleList(nn.Linear(config.dim, rank) for _ in MODALITIES)
        self.head = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear((rank + 1) ** len(MODALITIES), config.dim),
            nn.GELU(),
            nn.Linear(config.dim, len(config.labels)),
        )

    def forward(self, encodings, presence, **_) -> FusionOutput:
        x = self.pooled_inputs(encodings, presence)
        reduced = [F.gelu(r(x[:, :, i])) for i, r in enumerate(self.reduce)]
        ones = torch.ones_like(reduced[0][..., :1])
        image, text, audio = (torch.cat([z, ones], -1) for z in reduced)
        product = torch.einsum("bki,bkj,bkl->bkijl", image, text, audio).flatten(2)
        weights = _share(torch.stack([z.norm(dim=-1) for z in reduced], -1))
        logits, embedding = _logits_and_embedding(self.head, product)
        return FusionOutput(logits, weights, embedding=embedding)


class AttentionFusion(nn.Module):
    """A learned query attends over every image, text and audio token.

    Its attention is both the heatmap (per token) and the per-modality weight (the
    attention mass on each modality's tokens). Keys and values are computed once per
    sample; each coalition only changes which tokens may be attended to, so all 2^M
    coalitions cost one masked softmax.
    """

    def __init__(self, config: FusionConfig):
        super().__init__()
        dim, self.heads = config.dim, config.fusion_heads
        self.query = nn.Parameter(torch.zeros(1, dim))
        self.absent = nn.Parameter(torch.zeros(len(MODALITIES), dim))
        self.modality_type = nn.Parameter(torch.zeros(len(MODALITIES), dim))
        for parameter in (self.query, self.absent, self.modality_type):
            nn.init.normal_(parameter, std=0.02)
        self.norm = nn.LayerNorm(dim)
        self.q_proj = nn.Linear(dim, dim)
        self.kv_proj = nn.Linear(dim, 2 * dim)
        self.out_proj = nn.Linear(dim, dim)
        self.head = _classifier(dim, dim, len(config.labels), config.dropout)

    def forward(self, encodings, presence, **_) -> FusionOutput:
        pieces, masks, spans, start = [], [], {}, 0
        batch = presence.shape[0]
        for index, name in enumerate(MODALITIES):
            enc = encodings[name]
            absent = self.absent[index].expand(batch, 1, -1)
            pieces.append(torch.cat([absent, enc.tokens], 1) + self.modality_type[index])
            masks.append(enc.mask)
            spans[name] = (start, start + 1 + enc.tokens.shape[1])
            start = spans[name][1]
        tokens = self.norm(torch.cat(pieces, 1))  # (B, N, D)
        keys, values = self.kv_proj(tokens).chunk(2, dim=-1)
        head_dim = keys.shape[-1] // self.heads
        keys = keys.view(batch, -1, self.heads, head_dim)
        values = values.view(batch, -1, self.heads, head_dim)
        query = self.q_proj(self.query).view(self.heads, head_dim)
        scores = torch.einsum("hd,bnhd->bhn", query, keys) / head_dim**0.5  # (B, H, N)

        allowed = self._allowed(masks, presence)  # (B, K, N)
        scores = scores.unsqueeze(1).masked_fill(~allowed.unsqueeze(2), float("-inf"))
        attention = scores.softmax(-1)  # (B, K, H, N)
        attended = torch.einsum("bkhn,bnhd->bkhd", attention, values).flatten(2)
        logits, embedding = _logits_and_embedding(self.head, self.out_proj(attended))
        mean_attention = attention.mean(2)
        weights = torch.stack([mean_attention[..., a:b].sum(-1) for a, b in spans.values()], -1)
        return FusionOutput(logits, weights, mean_attention, spans, embedding)

    @staticmethod
    def _allowed(masks: list[torch.Tensor], presence: torch.Tensor) -> torch.Tensor:
        """Per coalition: a present modality exposes its real tokens, an absent one its absent slot."""
        parts = []
        for index, mask in enumerate(masks):
            on = presence[..., index : index + 1]  # (B, K, 1)
            absent_slot = ~on
            real = on & mask.unsqueeze(1)
            parts.extend([absent_slot, real])
        return torch.cat(parts, -1)


STRATEGIES: dict[str, type[nn.Module]] = {
    "concat": ConcatFusion,
    "late": LateFusion,
    "gated": GatedFusion,
    "tensor": TensorFusion,
    "attention": AttentionFusion,
}


def build_fusion(config: FusionConfig) -> nn.Module:
    return STRATEGIES[config.fusion](config)
