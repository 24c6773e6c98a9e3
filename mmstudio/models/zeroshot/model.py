"""Zero-shot classification over typed labels with pretrained CLIP (image, text) and CLAP (audio).

Each modality present gives a distribution over the labels: the image by CLIP image-label
similarity, the audio by CLAP audio-label similarity, typed text by the similarity of its
text-tower embedding to the labels'. They are fused by a weighted log-linear pool

    logits_c = sum over modalities m of  w_m * l_m,c
    l_m = log p_m        when m is present (in the sample and in the coalition)
    l_m = log(1 / C)     otherwise: an absent modality is a uniform opinion,

so an absent modality contributes a constant, which softmax ignores: it changes nothing.
The encoders run once per sample (``encode`` yields every log p_m); ``fuse`` only pools,
so the Analyzer's exact Shapley over the 2^3 coalitions costs one cheap tensor sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mmstudio import MODALITIES
from mmstudio.inputs.errors import InputError
from mmstudio.inputs.sample import Sample
from mmstudio.model_outputs import FusionOutput
from mmstudio.models.protocol import CLASSIFICATION
from mmstudio.models.zeroshot import batch as prep
from mmstudio.models.zeroshot.batch import ZeroShotBatch
from mmstudio.models.zeroshot.explain import explain_batch
from mmstudio.models.zeroshot.sources import DEFAULT_LABELS, DEFAULT_TEMPLATES, parse_labels

IMAGE, TEXT, AUDIO = (MODALITIES.index(m) for m in ("image", "text", "audio"))


@dataclass
class ZeroShotEncoded:
    """log_probs: (B, M, C) each modality's log-distribution over the labels, log(1/C) where
    the modality is absent. spectrogram: (B, n_mels, frames) CLAP's log-mel in dB (zeros for
    rows without audio); spectrogram_frames: (B,) frames of real audio in it."""

    log_probs: torch.Tensor
    present: torch.Tensor
    spectrogram: torch.Tensor | None = None
    spectrogram_frames: torch.Tensor | None = None


class ClipClapModel(nn.Module):
    """The split FusionModel protocol over pretrained CLIP and/or CLAP towers.

    ``clip`` is a transformers CLIPModel with its CLIPProcessor, ``clap`` a ClapModel with
    its ClapProcessor; either may be None, and then its modalities are refused with a clear
    message. Typed text goes through CLIP's text tower (CLAP's when there is no CLIP).
    """

    modalities = MODALITIES
    task = CLASSIFICATION
    fusion_weights_kind = "log-linear pool weight"

    def __init__(
        self,
        clip=None,
        clip_processor=None,
        clap=None,
        clap_processor=None,
        *,
        labels: Sequence[str] | str = DEFAULT_LABELS,
        weights: dict[str, float] | None = None,
        templates: dict[str, str] | None = None,
        name: str = "clip-clap",
    ):
        super().__init__()
        if clip is None and clap is None:
            raise InputError("a zero-shot model needs CLIP weights, CLAP weights or both")
        self.name = name
        self.clip, self.clip_processor = clip, clip_processor
        self.clap, self.clap_processor = clap, clap_processor
        for tower in (clip, clap):
            if tower is not None:
                tower.requires_grad_(False)  # explanations take gradients of inputs only
        weights = {**dict.fromkeys(MODALITIES, 1.0), **(weights or {})}
        if not all(math.isfinite(w) and w >= 0 for w in weights.values()):
            raise InputError(f"pool weights must be finite numbers of at least 0 (got {weights})")
        self.register_buffer(
            "pool_weights", torch.tensor([float(weights[m]) for m in MODALITIES]), persistent=False
        )
        self.templates = {**DEFAULT_TEMPLATES, **(templates or {})}
        self._label_cache: dict[str, tuple[tuple, torch.Tensor]] = {}
        self.set_labels(labels)

    # --- labels ---------------------------------------------------------------------------

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def set_labels(self, labels: Sequence[str] | str) -> None:
        """Candidate labels ("dog, cat, car, siren" or a list). Their text embeddings are
        computed on the next request and reused until the labels change."""
        self._labels = parse_labels(list(labels) if not isinstance(labels, str) else labels)

    def label_embeddings(self, tower: str) -> torch.Tensor:
        """(C, D) unit-length embeddings of the labels in ``tower``'s prompt, cached."""
        template = self.templates[_TEMPLATE_OF[tower]]
        key = (template, tuple(self._labels))
        cached = self._label_cache.get(tower)
        if cached is None or cached[0] != key:
            prompts = [template.format(label) for label in self._labels]
            with torch.no_grad(), self.autocast():
                embedded = self._embed_texts(tower, prompts)
            self._label_cache[tower] = (key, embedded.float())
        return self._label_cache[tower][1]

    def _embed_texts(self, tower: str, texts: list[str]) -> torch.Tensor:
        model, processor = self._tower(tower)
        tokens = processor.tokenizer(
            texts, padding=True, truncation=True, max_length=_max_tokens(model), return_tensors="pt"
        ).to(self.device)
        features = _pooled(
            model.get_text_features(
                input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
            )
        )
        return F.normalize(features.float(), dim=-1)

    # --- the split protocol -----------------------------------------------------------------

    def preprocess(self, samples: Sequence[Sample]) -> ZeroShotBatch:
        self._check_towers(samples)
        text_model, text_processor = self._tower(self.text_tower)
        return prep.build_batch(
            samples,
            image_processor=self.clip_processor.image_processor if self.clip is not None else None,
            tokenizer=text_processor.tokenizer,
            max_tokens=_max_tokens(text_model),
            text_tower=self.text_tower.upper(),
            feature_extractor=self.clap_processor.feature_extractor
            if self.clap is not None
            else None,
        )

    def encode(self, batch: ZeroShotBatch) -> ZeroShotEncoded:
        count, classes = batch.present.shape[0], len(self._labels)
        log_probs = torch.full(
            (count, len(MODALITIES), classes), -math.log(classes), device=self.device
        )
        with self.autocast():
            for modality, rows, scores in self._modality_scores(batch):
                log_probs[rows, modality] = torch.log_softmax(scores.float(), -1)
        encoded = ZeroShotEncoded(log_probs, batch.present)
        if batch.input_features is not None:
            encoded.spectrogram, encoded.spectrogram_frames = _spectrograms(batch, count)
        return encoded

    def fuse(self, encoded: ZeroShotEncoded, presence: torch.Tensor) -> FusionOutput:
        """presence (B, K, M) -> logits (B, K, C) of the log-linear pool; modality_weights
        (B, K, M) are the pool weights of the modalities taking part, normalised to sum to 1
        (all zero for the empty coalition)."""
        active = presence.to(encoded.present.device) & encoded.present.unsqueeze(1)
        classes = encoded.log_probs.shape[-1]
        opinions = torch.where(
            active.unsqueeze(-1), encoded.log_probs.unsqueeze(1), -math.log(classes)
        )
        logits = (self.pool_weights[:, None] * opinions).sum(dim=2)
        weights = active * self.pool_weights
        total = weights.sum(-1, keepdim=True)
        weights = torch.where(
            total > 0, weights / total.clamp_min(1e-12), torch.zeros_like(weights)
        )
        return FusionOutput(logits, weights)

    def heatmaps(
        self, batch: ZeroShotBatch, encoded: ZeroShotEncoded, output, predicted: torch.Tensor
    ):
        return explain_batch(self, batch, predicted)

    # --- per modality -----------------------------------------------------------------------

    def _modality_scores(self, batch: ZeroShotBatch):
        """(modality index, rows, (n, C) logits over the labels) for each modality in the batch."""
        if batch.pixel_values is not None:
            yield IMAGE, batch.image_rows, self.image_scores(batch.pixel_values)
        if batch.text_ids is not None:
            yield TEXT, batch.text_rows, self.text_scores(batch.text_ids, batch.text_mask)
        if batch.input_features is not None:
            yield AUDIO, batch.audio_rows, self.audio_scores(batch.input_features, batch.is_longer)

    def image_scores(self, pixel_values: torch.Tensor) -> torch.Tensor:
        features = _pooled(self.clip.get_image_features(pixel_values=pixel_values))
        return self._similarity(
            features, self.label_embeddings("clip-image"), self.clip.logit_scale
        )

    def text_scores(self, text_ids: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        model = self.text_encoder
        features = _pooled(model.get_text_features(input_ids=text_ids, attention_mask=text_mask))
        scale = model.logit_scale if self.text_tower == "clip" else model.logit_scale_t
        return self._similarity(features, self.label_embeddings(self.text_tower), scale)

    def audio_scores(
        self, input_features: torch.Tensor, is_longer: torch.Tensor | None
    ) -> torch.Tensor:
        features = _pooled(
            self.clap.get_audio_features(input_features=input_features, is_longer=is_longer)
        )
        return self._similarity(
            features, self.label_embeddings("clap-audio"), self.clap.logit_scale_a
        )

    @staticmethod
    def _similarity(
        features: torch.Tensor, labels: torch.Tensor, log_scale: torch.Tensor
    ) -> torch.Tensor:
        features = F.normalize(features.float(), dim=-1)
        return log_scale.float().exp() * features @ labels.to(features.device).T

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def text_tower(self) -> str:
        return "clip" if self.clip is not None else "clap"

    @property
    def text_encoder(self):
        """The model whose text tower reads typed text: CLIP, or CLAP when there is no CLIP."""
        return self.clip if self.clip is not None else self.clap

    @property
    def device(self) -> torch.device:
        return self.pool_weights.device

    def _tower(self, tower: str):
        return (
            (self.clip, self.clip_processor)
            if tower.startswith("clip")
            else (self.clap, self.clap_processor)
        )

    def _check_towers(self, samples: Sequence[Sample]) -> None:
        asked = {m for s in samples for m in s.present}
        if "image" in asked and self.clip is None:
            raise InputError(
                f"the model '{self.name}' has no CLIP weights, so it cannot look at images "
                "(add a clip/ folder next to clap/)"
            )
        if "audio" in asked and self.clap is None:
            raise InputError(
                f"the model '{self.name}' has no CLAP weights, so it cannot listen to audio "
                "(add a clap/ folder next to clip/)"
            )

    def autocast(self):
        # Half precision on a GPU roughly halves the towers' time. bf16 where the GPU has it:
        # it keeps float32's range, so nothing overflows as fp16 can.
        if self.device.type != "cuda":
            return nullcontext()
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)


_TEMPLATE_OF = {"clip-image": "image", "clip": "text", "clap": "text", "clap-audio": "audio"}


def _pooled(output) -> torch.Tensor:
    # transformers 5 returns a ModelOutput whose pooler_output is the projected embedding;
    # earlier releases returned the tensor itself.
    return output.pooler_output if hasattr(output, "pooler_output") else output


def _max_tokens(model) -> int:
    return int(model.config.text_config.max_position_embeddings) - (
        2 if model.config.model_type == "clap" else 0
    )


def _spectrograms(batch: ZeroShotBatch, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    mels = batch.input_features[:, 0].transpose(1, 2).float()  # (n, n_mels, frames)
    spectrogram = mels.new_zeros(count, *mels.shape[1:])
    spectrogram[batch.audio_rows] = mels
    frames = torch.zeros(count, dtype=torch.long)
    frames[batch.audio_rows] = torch.tensor(batch.audio_frames, dtype=torch.long)
    return spectrogram, frames
