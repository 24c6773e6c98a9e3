"""Manifest records as a torch Dataset of Samples, with augmentation and corruption.

Decoding dominates the cost of a training step's input side: the digits set reuses a few
thousand audio clips across many records, so every file is decoded once and kept in memory.

Training first applies label-preserving augmentation, then draws a corruption level per
modality (mostly clean, sometimes levels 1-3) so the model learns to lean on whichever
modality is still reliable. Evaluation applies one fixed level to every modality, with a
generator seeded by the record id, so a score is repeatable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from mmstudio.inputs import AudioClip, Sample, load_audio, load_image, normalize_text
from mmstudio.training.corruption import (
    CORRUPTION_LEVELS,
    corrupt_audio,
    corrupt_image,
    corrupt_text,
)
from mmstudio.training.manifest import Manifest, Record, canonical_split

# The evaluation "level" that gives each record its own fixed level (see RecordDataset).
SPREAD = "spread"
# Fallback split of a manifest without a split column, in record-hash order.
SPLIT_SHARES: tuple[tuple[str, float], ...] = (("train", 0.8), ("val", 0.1), ("test", 0.1))


@dataclass(frozen=True)
class CorruptionMix:
    """How training picks corruption levels.

    ``probabilities[k]`` is the chance of level k for one modality. With probability
    ``shared`` a single level is drawn for the whole sample instead: independent levels
    rarely corrupt every modality at once, yet that is where fusion has to work hardest.
    """

    probabilities: tuple[float, ...] = (0.55, 0.15, 0.15, 0.15)
    shared: float = 0.3

    def __post_init__(self) -> None:
        if len(self.probabilities) != len(CORRUPTION_LEVELS):
            raise ValueError(f"give one probability per level {CORRUPTION_LEVELS}")
        if abs(sum(self.probabilities) - 1.0) > 1e-6:
            raise ValueError("corruption level probabilities must sum to 1")

    def draw(self, rng: np.random.Generator, count: int) -> list[int]:
        if rng.random() < self.shared:
            return [int(rng.choice(CORRUPTION_LEVELS, p=self.probabilities))] * count
        return [int(v) for v in rng.choice(CORRUPTION_LEVELS, size=count, p=self.probabilities)]


CLEAN = CorruptionMix(probabilities=(1.0, 0.0, 0.0, 0.0), shared=0.0)


@dataclass(frozen=True)
class Augmentation:
    """Label-preserving changes made to training inputs before corruption.

    Each one targets what the held-out splits change: unseen sentence frames put the number
    anywhere in a phrase (so words are shuffled), unseen writers and fonts (small rotations,
    scalings and shifts), unseen voices (speed perturbation: tempo and pitch move together).
    Shuffling words assumes word order does not decide the label, true of the digits task.
    """

    text_shuffle: float = 0.5
    image_affine: float = 0.5
    audio_speed: float = 0.5
    max_rotation: float = 10.0  # degrees
    scale: tuple[float, float] = (0.85, 1.1)
    max_shift: float = 0.08  # fraction of the image side
    speed: tuple[float, float] = (0.88, 1.12)

    def text(self, text: str, rng: np.random.Generator) -> str:
        return shuffle_words(text, rng) if rng.random() < self.text_shuffle else text

    def image(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        if rng.random() >= self.image_affine:
            return image
        angle = rng.uniform(-self.max_rotation, self.max_rotation)
        shift = rng.uniform(-self.max_shift, self.max_shift, size=2) * np.array(image.size)
        return affine_jitter(image, angle, rng.uniform(*self.scale), shift)

    def audio(self, samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() >= self.audio_speed:
            return samples
        return change_speed(samples, rng.uniform(*self.speed))


NO_AUGMENTATION = Augmentation(text_shuffle=0.0, image_affine=0.0, audio_speed=0.0)


def shuffle_words(text: str, rng: np.random.Generator) -> str:
    words = text.split()
    return " ".join(words[i] for i in rng.permutation(len(words)))


def affine_jitter(image: Image.Image, angle: float, scale: float, shift) -> Image.Image:
    """Rotate by ``angle`` degrees and scale about the centre, then shift by ``shift`` pixels;
    uncovered corners take the border colour so no dark wedge hints at the transform."""
    width, height = image.size
    cx, cy = width / 2 + shift[0], height / 2 + shift[1]
    radians = np.deg2rad(angle)
    a, b = np.cos(radians) / scale, np.sin(radians) / scale
    # PIL maps each output pixel back to its input position: the inverse transform.
    matrix = (a, b, width / 2 - a * cx - b * cy, -b, a, height / 2 + b * cx - a * cy)
    pixels = np.asarray(image)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    fill = (
        tuple(int(v) for v in np.median(border, axis=0))
        if pixels.ndim == 3
        else int(np.median(border))
    )
    return image.transform(
        image.size, Image.Transform.AFFINE, matrix, Image.Resampling.BILINEAR, fillcolor=fill
    )


def change_speed(samples: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster by linear resampling."""
    length = max(1, int(len(samples) / factor))
    positions = np.arange(length) * factor
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


class MediaCache:
    """Decoded images and audio clips by path, shared by the datasets of one manifest."""

    def __init__(self, audio_rate: int = 16000):
        self.audio_rate = audio_rate
        self._images: dict[Path, Image.Image] = {}
        self._clips: dict[Path, AudioClip] = {}

    def image(self, path: Path) -> Image.Image:
        if path not in self._images:
            image = load_image(path)
            image.load()  # decode now, not lazily in whichever step first touches it
            self._images[path] = image
        return self._images[path]

    def audio(self, path: Path) -> AudioClip:
        if path not in self._clips:
            self._clips[path] = load_audio(path, target_rate=self.audio_rate)
        return self._clips[path]


def stable_fraction(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``; Python's hash() changes between runs."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def stable_seed(*parts: object) -> int:
    return int(stable_fraction(*parts) * 2**63)


def split_records(manifest: Manifest, split: str, seed: int = 0) -> list[Record]:
    """The records of one split; a manifest without splits is divided 80/10/10 by id hash."""
    split = canonical_split(split)
    if manifest.has_splits:
        return manifest.split(split)
    return [r for r in manifest.records if _hashed_split(r.id, seed) == split]


def _hashed_split(record_id: str, seed: int) -> str:
    position = stable_fraction("split", seed, record_id)
    edge = 0.0
    for name, share in SPLIT_SHARES:
        edge += share
        if position < edge:
            return name
    return SPLIT_SHARES[-1][0]


# A modality's label set as indices: what that modality alone allows (see Record.modality_labels).
LabelSets = dict[str, tuple[int, ...]]


class RecordDataset(Dataset):
    """Items are ``(Sample, label index, label sets)``; the label sets are None for a record
    whose every modality names its label alone, as most do.

    ``level=None`` is training mode: levels come from ``mix`` and vary with ``epoch``
    (call :meth:`set_epoch`), so each pass sees different corruptions yet a rerun with
    the same seed sees the same ones. An integer ``level`` is evaluation mode, and
    ``level="spread"`` gives each record one fixed level, evenly spread over the levels:
    a single validation score that covers clean and corrupted inputs alike.
    """

    def __init__(
        self,
        records: Sequence[Record],
        labels: Sequence[str],
        *,
        level: int | str | None = None,
        mix: CorruptionMix = CorruptionMix(),
        augmentation: Augmentation = Augmentation(),
        seed: int = 0,
        cache: MediaCache | None = None,
    ):
        if level not in (None, SPREAD, *CORRUPTION_LEVELS):
            raise ValueError(f"corruption level must be one of {CORRUPTION_LEVELS} or {SPREAD!r}")
        index = {label: i for i, label in enumerate(labels)}
        self.records = list(records)
        self.targets = [index[r.label] for r in self.records]
        self.label_sets: list[LabelSets | None] = [
            {m: tuple(index[x] for x in names) for m, names in r.modality_labels.items()} or None
            for r in self.records
        ]
        self.level = level
        self.mix = mix
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = 0
        self.cache = cache or MediaCache()

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> tuple[Sample, int, LabelSets | None]:
        record = self.records[i]
        rng, levels = self._corruption(record)
        return self._sample(record, levels, rng), self.targets[i], self.label_sets[i]

    def level_of(self, record: Record) -> int | None:
        """The evaluation level of ``record``; None in training mode."""
        if self.level == SPREAD:
            position = stable_fraction("spread", self.seed, record.id)
            return CORRUPTION_LEVELS[int(position * len(CORRUPTION_LEVELS))]
        return self.level

    def _corruption(self, record: Record) -> tuple[np.random.Generator, list[int]]:
        level = self.level_of(record)
        if level is not None:
            rng = np.random.default_rng(stable_seed("eval", self.seed, record.id, level))
            return rng, [level] * 3
        rng = np.random.default_rng(stable_seed("train", self.seed, self.epoch, record.id))
        return rng, self.mix.draw(rng, 3)

    def _sample(self, record: Record, levels: list[int], rng: np.random.Generator) -> Sample:
        image_level, text_level, audio_level = levels
        augment = self.augmentation if self.level is None else NO_AUGMENTATION
        image = text = audio = None
        if record.image is not None:
            image = augment.image(self.cache.image(record.image), rng)
            image = corrupt_image(image, image_level, rng)
        if record.text is not None:
            # The same cleaning the app applies to typed text, so training sees what users type.
            text, _ = normalize_text(corrupt_text(augment.text(record.text, rng), text_level, rng))
        if record.audio is not None:
            clip = self.cache.audio(record.audio)
            samples = augment.audio(clip.samples, rng)
            samples = corrupt_audio(samples, clip.sample_rate, audio_level, rng)
            audio = AudioClip(samples, clip.sample_rate, clip.source)
        return Sample(image=image, text=text or None, audio=audio)


class Collate:
    """Items -> (model Batch, label tensor, allowed) through the model's own preprocessing.

    ``allowed`` (B, M, C) says which labels each modality alone allows, the record's label
    unless a label set says more; it is None when no item in the batch has a label set.
    """

    def __init__(self, model):
        self.model = model

    def __call__(self, items: list[tuple[Sample, int, LabelSets | None]]):
        samples = [sample for sample, _, _ in items]
        labels = torch.tensor([label for _, label, _ in items], dtype=torch.long)
        return self.model.preprocess(samples), labels, self._allowed(items, labels)

    def _allowed(self, items, labels: torch.Tensor) -> torch.Tensor | None:
        if all(sets is None for _, _, sets in items):
            return None
        modalities = list(self.model.modalities)
        allowed = torch.zeros(len(items), len(modalities), len(self.model.labels), dtype=torch.bool)
        allowed[torch.arange(len(items)), :, labels] = True
        for row, (_, _, sets) in enumerate(items):
            for modality, indices in (sets or {}).items():
                allowed[row, modalities.index(modality), list(indices)] = True
        return allowed


def make_loader(dataset: RecordDataset, model, batch_size: int, *, shuffle: bool, seed: int = 0):
    """A single-process loader: worker processes would pickle the model and the cache,
    and on the small CPUs this trains on they only compete with the training threads."""
    generator = (
        torch.Generator().manual_seed(stable_seed("order", seed, dataset.epoch))
        if shuffle
        else None
    )
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        collate_fn=Collate(model),
        num_workers=0,
    )
