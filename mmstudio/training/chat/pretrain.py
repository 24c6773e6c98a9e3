"""Pretraining digits-chat's image and audio encoders on digit classification.

Trained through the chat loss alone, the encoders learn slowly: the only signal that reaches them
is the few number words of each answer. Classifying the digits dataset's images and clips gives
every example a label, so the vision tower and the audio encoder (with their projections into
the decoder's width, exactly the features the decoder later reads) learn to tell the digits
apart first; the heads that classify are thrown away. The same (seed, step) batches and
schedule as train.py, progress as ChatEvent objects.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from mmstudio.inputs.errors import InputError
from mmstudio.training.chat.architecture import ENCODERS, encoder_module
from mmstudio.training.chat.augment import MediaAugmenter
from mmstudio.training.chat.batches import Encoder
from mmstudio.training.chat.features import audio_token_groups, image_token_groups
from mmstudio.training.chat.train import (
    GRAD_CLIP,
    ChatEvent,
    ChatTrainSettings,
    learning_rate,
    load_moments,
    replace_folder,
    save_moments,
)
from mmstudio.training.data import MediaCache
from mmstudio.training.manifest import Record

MEDIA = ("image", "audio")
# Measured (feasibility runs): at a peak of 3e-3 the vision tower stayed at chance for 700 of
# 1000 steps, at 5e-4 it learned from step 200; the audio encoder learns well at 2e-3 to 3e-3.
LR_SCALE = {"image": 0.25, "audio": 1.0}
# Distillation: the teacher's soft targets at this temperature, mixed half and half with the
# labels (Hinton et al.): which other digits an image resembles carries more per example than
# its label, and the feasibility runs had few examples per writer and font.
DISTILL_TEMPERATURE = 2.0
DISTILL_WEIGHT = 0.5
STATE = "pretrain_state.json"
WEIGHTS = "pretrain.safetensors"
OPTIMIZER = "pretrain_optimizer.safetensors"


class ClassifierTeacher:
    """The shipped classifier's logits for one medium alone: the soft targets to distil."""

    def __init__(self, model: Any):
        self.model = model.eval()

    @torch.no_grad()
    def logits(self, medium: str, inputs: Sequence[Any]) -> torch.Tensor:
        from mmstudio.inputs.sample import Sample

        samples = [Sample(**{medium: value}) for value in inputs]
        batch = self.model.preprocess(samples)
        output = self.model.fuse(self.model.encode(batch), batch.present.unsqueeze(1))
        return output.logits[:, 0].float()


def distillation_loss(
    student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None
) -> torch.Tensor:
    hard = torch.nn.functional.cross_entropy(student, labels)
    if teacher is None:
        return hard
    t = DISTILL_TEMPERATURE
    soft = torch.nn.functional.kl_div(
        torch.log_softmax(student / t, -1), torch.softmax(teacher / t, -1), reduction="batchmean"
    )
    return (1 - DISTILL_WEIGHT) * hard + DISTILL_WEIGHT * t * t * soft


def pooled_image_features(model: Any, pixel_values, grid) -> torch.Tensor:
    """(images, hidden): the mean of each image's merged tokens, as the decoder receives them."""
    return torch.stack([t.mean(0) for t in image_token_groups(model, pixel_values, grid)])


def pooled_audio_features(model: Any, features, mask) -> torch.Tensor:
    """(clips, hidden): the mean of each clip's audio tokens, as the decoder receives them."""
    return torch.stack([t.mean(0) for t in audio_token_groups(model, features, mask)])


def schedule_history(history: list[dict[str, int]], step: int, steps: int) -> list[dict[str, int]]:
    """The learning-rate schedules a state was trained under, oldest first: each one's first
    and last step and its length. A rerun with more steps resumes into a longer schedule, and
    the model card says so instead of claiming one schedule of the final length."""
    history = [dict(h) for h in history]
    if history and history[-1]["steps"] == steps:
        history[-1]["to"] = step
    else:
        start = history[-1]["to"] if history else 0
        history.append({"from": start, "to": step, "steps": steps})
    return history


class EncoderPretraining:
    """The vision tower and the audio encoder of ``model``, trained in place to classify digits
    records (each with a label, an image and a clip) through linear heads of their own."""

    def __init__(
        self,
        model: Any,
        processor: Any,
        settings: ChatTrainSettings,
        media: Sequence[str] = MEDIA,
        lr_scale: dict[str, float] | None = None,
        *,
        augmenter: MediaAugmenter | None = None,
        teacher: ClassifierTeacher | None = None,
    ):
        unknown = set(media) - set(MEDIA)
        if unknown or not media:
            raise ValueError(f"media must be some of {MEDIA}, not {list(media)}")
        self.media = tuple(m for m in MEDIA if m in media)
        # Each encoder's share of the learning rate: the vision transformer, trained from
        # scratch, stays at chance for hundreds of steps at the rate the audio encoder likes.
        self.lr_scale = {**LR_SCALE, **(lr_scale or {})}
        self.model = model
        self.settings = settings
        self.encoder = Encoder(processor)
        self.augmenter = augmenter
        self.teacher = teacher
        self.media_cache = MediaCache(audio_rate=self.encoder.sampling_rate)
        hidden = model.config.text_config.hidden_size
        torch.manual_seed(settings.seed)
        self.heads = torch.nn.ModuleDict({m: torch.nn.Linear(hidden, 10) for m in self.media})
        self._history: list[dict[str, int]] = []

    def logits(
        self, batch: Sequence[Record], rng: np.random.Generator | None = None
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Each encoder's logits on ``batch``, and the teacher's on the same inputs (when
        there is a teacher); with ``rng`` and an augmenter, each input is a fresh variant."""
        out, targets = {}, {}
        if "image" in self.media:
            if rng is not None and self.augmenter is not None:
                pictures = [
                    self.augmenter.image(self.media_cache.image(r.image), rng) for r in batch
                ]
                images = [self.encoder.image_from(p) for p in pictures]
            else:
                pictures = None
                images = [self.encoder.image(r.image) for r in batch]
            pooled = pooled_image_features(
                self.model, torch.cat([p for p, _ in images]), torch.cat([g for _, g in images])
            )
            out["image"] = self.heads["image"](pooled)
            if self.teacher is not None and pictures is not None:
                targets["image"] = self.teacher.logits("image", pictures)
        if "audio" in self.media:
            augment = rng is not None and self.augmenter is not None
            rate = self.encoder.sampling_rate
            waves = (
                [
                    self.augmenter.audio(self.media_cache.audio(r.audio).samples, rate, rng)
                    for r in batch
                ]
                if augment
                else None
            )
            clips = (
                [self.encoder.audio_from(w) for w in waves]
                if waves is not None
                else [self.encoder.audio(r.audio) for r in batch]
            )
            if augment:
                clips = [(self.augmenter.features(f, m, rng), m) for f, m in clips]
            pooled = pooled_audio_features(
                self.model, torch.cat([f for f, _ in clips]), torch.cat([m for _, m in clips])
            )
            out["audio"] = self.heads["audio"](pooled)
            if self.teacher is not None and waves is not None:
                from mmstudio.inputs.sample import AudioClip

                targets["audio"] = self.teacher.logits("audio", [AudioClip(w, rate) for w in waves])
        return out, targets

    def parameters_of(self, medium: str) -> list[torch.nn.Parameter]:
        encoder = encoder_module(self.model, ENCODERS[MEDIA.index(medium)])
        return [*encoder.parameters(), *self.heads[medium].parameters()]

    def run(
        self, records: Sequence[Record], state_dir: str | Path | None = None
    ) -> Iterator[ChatEvent]:
        """Train on ``records``; yields "step" events whose metrics hold each encoder's
        training accuracy since the last event, then a "done" event. With ``state_dir``,
        the encoders, heads and optimizer are saved there every ``checkpoint_every`` steps
        and a saved state is continued from."""
        usable = _usable(records)
        settings = self.settings
        torch.set_num_threads(settings.threads)
        groups = [{"params": self.parameters_of(m), "scale": self.lr_scale[m]} for m in self.media]
        params = [p for group in groups for p in group["params"]]
        optimizer = torch.optim.AdamW(groups, lr=settings.lr, weight_decay=settings.weight_decay)
        step = self._resume(Path(state_dir), optimizer) if state_dir else 0
        self.model.train()
        started = time.perf_counter()
        losses: list[float] = []
        right: dict[str, list[float]] = {m: [] for m in self.media}
        while step < settings.steps:
            rng = np.random.default_rng([settings.seed, 11, step])
            rows = rng.choice(
                len(usable), size=min(settings.batch_size, len(usable)), replace=False
            )
            batch = [usable[int(r)] for r in rows]
            labels = torch.tensor([int(r.label) for r in batch])
            logits, targets = self.logits(batch, rng)
            loss = sum(distillation_loss(v, labels, targets.get(m)) for m, v in logits.items())
            lr = learning_rate(step, settings)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["scale"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
            optimizer.step()
            losses.append(float(loss.detach()))
            for modality, values in logits.items():
                right[modality].append(float((values.argmax(-1) == labels).float().mean()))
            step += 1
            elapsed = time.perf_counter() - started
            if step % settings.log_every == 0 or step == settings.steps:
                metrics = {f"{m}_accuracy": round(float(np.mean(v)), 4) for m, v in right.items()}
                yield ChatEvent(
                    "step", step, settings.steps, float(np.mean(losses)), lr, elapsed, "", metrics
                )
                losses, right = [], {m: [] for m in self.media}
            out_of_time = settings.max_seconds is not None and elapsed >= settings.max_seconds
            checkpoint = step % settings.checkpoint_every == 0 or step == settings.steps
            if state_dir and (checkpoint or out_of_time):
                self._save(Path(state_dir), optimizer, step)
                yield ChatEvent("checkpoint", step, settings.steps, seconds=elapsed)
            if out_of_time:
                break
        self.model.eval()
        yield ChatEvent("done", step, settings.steps, seconds=time.perf_counter() - started)

    def _trained(self) -> dict[str, torch.Tensor]:
        tensors = {}
        for medium in self.media:
            encoder = encoder_module(self.model, ENCODERS[MEDIA.index(medium)])
            for name, value in encoder.state_dict().items():
                tensors[f"{medium}/encoder/{name}"] = value
            for name, value in self.heads[medium].state_dict().items():
                tensors[f"{medium}/head/{name}"] = value
        return {k: v.detach().contiguous().cpu() for k, v in tensors.items()}

    def _save(self, folder: Path, optimizer: torch.optim.Optimizer, step: int) -> None:
        def write(target: Path) -> None:
            save_file(self._trained(), str(target / WEIGHTS))
            save_moments(optimizer.state_dict(), target / OPTIMIZER)
            info = {
                "step": step,
                "media": list(self.media),
                "schedules": schedule_history(self._history, step, self.settings.steps),
            }
            (target / STATE).write_text(json.dumps(info) + "\n", encoding="utf-8")

        replace_folder(folder, write)

    def _resume(self, folder: Path, optimizer: torch.optim.Optimizer) -> int:
        self._history = []
        if not (folder / STATE).is_file():
            return 0
        try:
            info = json.loads((folder / STATE).read_text(encoding="utf-8"))
            self._history = list(info.get("schedules", []))
            if info["media"] != list(self.media):
                raise ValueError(f"it trained {info['media']}, not {list(self.media)}")
            self.load_weights(folder)
            moments = load_moments(folder / OPTIMIZER)
            saved = optimizer.state_dict()
            optimizer.load_state_dict({"state": moments, "param_groups": saved["param_groups"]})
            return int(info["step"])
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            raise InputError(
                f"the pretraining state cannot be resumed ({error})", folder
            ) from error

    def load_weights(self, folder: Path) -> None:
        """Put a saved state's encoders and heads into this model."""
        tensors = load_file(str(Path(folder) / WEIGHTS))
        for medium in self.media:
            encoder = encoder_module(self.model, ENCODERS[MEDIA.index(medium)])
            for part, module in (("encoder", encoder), ("head", self.heads[medium])):
                prefix = f"{medium}/{part}/"
                module.load_state_dict(
                    {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
                )

    @torch.no_grad()
    def accuracy(self, records: Sequence[Record], batch_size: int = 64) -> dict[str, float]:
        """Each encoder's accuracy with its head on ``records`` (held-out ones, to measure)."""
        usable = _usable(records)
        self.model.eval()
        right = dict.fromkeys(self.media, 0)
        for start in range(0, len(usable), batch_size):
            batch = usable[start : start + batch_size]
            labels = torch.tensor([int(r.label) for r in batch])
            for modality, values in self.logits(batch)[0].items():
                right[modality] += int((values.argmax(-1) == labels).sum())
        return {m: round(right[m] / len(usable), 4) for m in self.media}


def _usable(records: Sequence[Record]) -> list[Record]:
    usable = [r for r in records if r.image is not None and r.audio is not None and r.label]
    if not usable:
        raise ValueError("no digits records with an image, a clip and a label")
    return usable
