"""FusionNet: the built-in image + text + audio fusion classifier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch
from torch import nn

from mmstudio import MODALITIES
from mmstudio.explain.heatmaps import attention_heatmaps, gradient_heatmaps, signed_unit_range
from mmstudio.explain.occlusion import METHOD as OCCLUSION
from mmstudio.explain.occlusion import occlusion_variants, word_occlusion
from mmstudio.inputs.sample import Sample
from mmstudio.model_outputs import Batch, Encoded, FusionOutput, ModalityEncoding, TextVariants
from mmstudio.models.config import FusionConfig
from mmstudio.models.encoders import AudioEncoder, TextEncoder, build_image_encoder
from mmstudio.models.fusion import build_fusion
from mmstudio.models.preprocess import Preprocessor
from mmstudio.models.protocol import CLASSIFICATION
from mmstudio.models.tokenizer import PAD_ID


class FusionNet(nn.Module):
    """Encoders per modality plus a named fusion strategy.

    The split follows timm: ``encode`` (forward_features) runs each encoder once;
    ``fuse`` (forward_head) runs the fusion head under any number of modality
    coalitions. ``forward`` is both, used for training with modality dropout.
    """

    modalities: tuple[str, ...] = MODALITIES
    task = CLASSIFICATION
    # How the text map is made: word occlusion, or the strategy's own map ("native": fusion
    # attention or gradient x input), kept to measure one against the other.
    TEXT_MAPS = (OCCLUSION, "native")
    text_map: str = OCCLUSION

    def __init__(self, config: FusionConfig):
        super().__init__()
        self.config = config
        self.image_encoder = build_image_encoder(config)
        self.text_encoder = TextEncoder(config)
        self.audio_encoder = AudioEncoder(config)
        self.fusion = build_fusion(config)
        self.preprocessor = Preprocessor(config)

    @property
    def labels(self) -> list[str]:
        return self.config.labels

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def preprocess(self, samples: Sequence[Sample]) -> Batch:
        return self.preprocessor(samples)

    def explanation_encode_options(self) -> dict[str, bool]:
        """What the Analyzer passes to ``encode`` when it will ask for heatmaps."""
        return {"text_occlusion": self.text_map == OCCLUSION}

    def encode(
        self, batch: Batch, *, keep_for_explain: bool = False, text_occlusion: bool = False
    ) -> Encoded:
        """Run every encoder once. With ``keep_for_explain`` the intermediate tensors that
        Grad-CAM and gradient x input need carry gradients. With ``text_occlusion`` the
        texts word occlusion needs are encoded in the same text-encoder call: on a CPU that
        encoder's cost is mostly per call, not per row, so they come almost free."""
        feature_map = self.image_encoder.forward_features(batch.images)
        frontend = self.audio_encoder.frontend
        decibels = frontend(batch.waveforms)
        normalized = frontend.normalize(decibels)
        if keep_for_explain:
            # The spectrogram comes from the waveform through fixed transforms, so it
            # is a leaf without gradients unless we ask for them.
            normalized = normalized.detach().requires_grad_(True)
        frames = frontend.frames_for(batch.waveform_mask.sum(1))
        rows, kept = (
            occlusion_variants(batch, self.modalities.index("text"))
            if (text_occlusion)
            else ([], [])
        )
        text_ids, text_mask = batch.text_ids, batch.text_mask
        if rows:
            extra = self._variant_ids(batch, rows, kept)
            text_ids = torch.cat([text_ids, extra])
            text_mask = torch.cat([text_mask, extra != PAD_ID])
        embeddings = self.text_encoder.embed(text_ids)
        text = self.text_encoder.forward_tokens(embeddings, text_mask)
        count = batch.text_ids.shape[0]
        variants = None
        if rows:
            text, tail = _split_rows(text, count)
            embeddings = embeddings[:count]
            variants = TextVariants(rows, kept, tail)
        encodings = {
            "image": self.image_encoder.forward_tokens(feature_map),
            "text": text,
            "audio": self.audio_encoder.forward_tokens(normalized, frames),
        }
        return Encoded(
            encodings,
            batch.present,
            spectrogram=decibels,
            spectrogram_frames=frames,
            image_features=feature_map,
            text_embeddings=embeddings,
            normalized_spectrogram=normalized,
            text_variants=variants,
        )

    def text_variants(
        self,
        batch: Batch,
        encoded: Encoded,
        rows: list[int],
        kept: list[list[int]],
        *,
        alone: bool = False,
    ) -> Encoded:
        """Encodings of samples ``rows`` with the i-th one's text cut down to the token
        indices ``kept[i]``: only the text encoder runs again, the others are reused."""
        ids = self._variant_ids(batch, rows, kept)
        return self.encode_variants(encoded, rows, text_ids=ids, alone=alone)

    @staticmethod
    def _variant_ids(batch: Batch, rows: list[int], kept: list[list[int]]) -> torch.Tensor:
        ids = torch.full(
            (len(rows), batch.text_ids.shape[1]),
            PAD_ID,
            dtype=torch.long,
            device=batch.text_ids.device,
        )
        for i, (row, keep) in enumerate(zip(rows, kept, strict=True)):
            ids[i, : len(keep)] = batch.text_ids[row, keep]
        return ids

    def encode_variants(
        self,
        encoded: Encoded,
        rows: list[int],
        *,
        images: torch.Tensor | None = None,
        text_ids: torch.Tensor | None = None,
        silenced: torch.Tensor | None = None,
        text: ModalityEncoding | None = None,
        alone: bool = False,
    ) -> Encoded:
        """Encodings of samples ``rows`` (repeats allowed) with some inputs replaced, one
        row each: model-ready images, token ids, or the spectrogram with the cells where
        ``silenced`` (n, n_mels, frames) is True turned to silence, or ``text``, the texts'
        encoding already computed (one row per variant). Only the encoders of
        replaced inputs run; the others' outputs are reused. With ``alone`` the replaced input
        will be fused on its own: the others' tokens are left out (their absent embeddings
        stand in for them), which makes the fusion pass over the variants much cheaper."""
        index = torch.tensor(rows, device=encoded.present.device)
        kept = 0 if alone else None
        encodings = {
            name: replace(
                enc,
                tokens=enc.tokens[index, :kept],
                mask=enc.mask[index, :kept],
                pooled=enc.pooled[index],
            )
            for name, enc in encoded.modalities.items()
        }
        if images is not None:
            encodings["image"] = self.image_encoder.forward_tokens(
                self.image_encoder.forward_features(images)
            )
        if text_ids is not None:
            encodings["text"] = self.text_encoder.forward_tokens(
                self.text_encoder.embed(text_ids), text_ids != PAD_ID
            )
        if text is not None:
            encodings["text"] = text
        if silenced is not None:
            normalized = encoded.normalized_spectrogram[index].detach().clone()
            frames = silenced.shape[-1]
            normalized[..., :frames] = normalized[..., :frames].masked_fill(
                silenced, self.audio_encoder.frontend.SILENCE
            )
            encodings["audio"] = self.audio_encoder.forward_tokens(
                normalized, encoded.spectrogram_frames[index]
            )
        return Encoded(encodings, encoded.present[index])

    def fuse(self, encoded: Encoded, presence: torch.Tensor) -> FusionOutput:
        """``presence`` (B, K, M): K coalitions per sample. Logits are temperature-scaled."""
        presence = presence & encoded.present.unsqueeze(1)
        output = self.fusion(encoded.modalities, presence)
        output.logits = output.logits / self.config.temperature
        return output

    def forward(self, batch: Batch) -> FusionOutput:
        presence = batch.present
        if self.training and self.config.modality_dropout > 0:
            keep = (
                torch.rand(presence.shape, device=presence.device) >= self.config.modality_dropout
            )
            presence = presence & keep
        encoded = self.encode(batch)
        output = self.fuse(encoded, presence.unsqueeze(1))
        output.logits = output.logits[:, 0]
        return output

    def training_logits(
        self, batch: Batch, keep: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, 1 + M, C) for training: a modality-dropout coalition, then each single
        modality alone; and (B, 1 + M) marking which of them have any input.

        ``keep`` (B, M) says which modalities the dropout coalition keeps; without it they
        are drawn here from the global random generator. The trainer passes its own, drawn
        from a generator of its own, so every fusion strategy gets the same schedule.

        The encoders run once, so supervising every modality on its own costs only extra
        fusion-head passes, and it stops a strong modality from starving the others'
        encoders of gradient: each one must be able to decide alone.
        """
        present = batch.present
        if keep is None:
            keep = torch.rand(present.shape, device=present.device) >= self.config.modality_dropout
        logits = self.fuse(self.encode(batch), training_coalitions(present, keep)).logits
        valid = torch.cat([torch.ones_like(present[:, :1]), present], 1)
        return logits, valid

    @property
    def fusion_weights_kind(self) -> str:
        return {
            "attention": "attention mass of the fusion query on each modality's tokens",
            "gated": "mean gate value of the gated multimodal unit",
            "concat": "share of each modality in the first fusion layer's input",
            "tensor": "share of each modality's reduced vector norm in the tensor product",
            "late": "fixed equal weights of the averaged unimodal heads",
        }[self.config.fusion]

    def heatmaps(
        self, batch: Batch, encoded: Encoded, output: FusionOutput, predicted: torch.Tensor
    ) -> list:
        """Per-sample heatmaps for the predicted classes, ``output`` being the full coalition's.

        The text map is word occlusion whatever the strategy (unless ``text_map`` says
        otherwise): on the digits test split it puts the number word on top far more often
        than fusion attention or gradient x input (benchmarks/explanation_faithfulness.py).
        """
        if output.attention is not None:
            maps = attention_heatmaps(batch, encoded, output, coalition=0)
        else:
            with torch.enable_grad():
                explained = self.encode(batch, keep_for_explain=True)
                logits = self.fuse(explained, batch.present.unsqueeze(1)).logits[:, 0]
                scores = logits.gather(1, predicted[:, None])[:, 0]
                maps = gradient_heatmaps(batch, explained, scores)
        if self.text_map != OCCLUSION:
            return maps
        for maps_of_row, weights in zip(
            maps, word_occlusion(self, batch, encoded, predicted), strict=True
        ):
            if weights is not None:
                maps_of_row.tokens = signed_unit_range(weights)
                maps_of_row.text_method = OCCLUSION
                maps_of_row.signed = (*(m for m in maps_of_row.signed if m != "text"), "text")
        return maps

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


def training_coalitions(present: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """The coalitions of :meth:`FusionNet.training_logits`' columns, (B, 1 + M, M): the
    modalities the dropout coalition keeps, then each modality alone; only present ones."""
    singles = torch.eye(present.shape[1], dtype=torch.bool, device=present.device)
    presence = torch.cat([(present & keep).unsqueeze(1), singles.expand(len(present), -1, -1)], 1)
    return presence & present.unsqueeze(1)


def _split_rows(
    encoding: ModalityEncoding, count: int
) -> tuple[ModalityEncoding, ModalityEncoding]:
    """The first ``count`` rows of an encoding, and the rest."""

    def rows(part: slice) -> ModalityEncoding:
        return replace(
            encoding,
            tokens=encoding.tokens[part],
            mask=encoding.mask[part],
            pooled=encoding.pooled[part],
        )

    return rows(slice(None, count)), rows(slice(count, None))
