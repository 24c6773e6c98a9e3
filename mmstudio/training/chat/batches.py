"""Chat records as the thinker's inputs: the prompt the studio would build, the answer after it.

The processor would recompute an image's patches and a clip's mel features for every record,
and the digits dataset reuses each file across many questions; here each file is processed once
by the processor's own image processor and feature extractor and kept, and the placeholders are
expanded as the processor expands them (``test_batches`` checks the result equals the
processor's, token for token). The prompt's parts come in the studio's order
(``prompt.PART_ORDER``), so training sees exactly the prompts the window sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mmstudio.models.generative.prompt import PART_ORDER
from mmstudio.training.chat.data import ChatRecord

IGNORE = -100  # positions the loss skips: everything but the answer


@dataclass
class Example:
    prompt_ids: list[int]
    answer_ids: list[int]  # the answer's tokens and the end-of-turn token
    pixel_values: torch.Tensor | None  # (patches, channels * temporal * patch * patch)
    image_grid_thw: torch.Tensor | None  # (1, 3)
    input_features: torch.Tensor | None  # (1, mel bins, frames)
    feature_attention_mask: torch.Tensor | None  # (1, frames)


def audio_tokens(frames: int) -> int:
    """The audio tokens a clip of ``frames`` mel frames gives (the processor's formula)."""
    frames = (frames - 1) // 2 + 1
    return (frames - 2) // 2 + 1


class Encoder:
    """Turns chat records into examples, processing each media file once."""

    def __init__(self, processor: Any):
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.end_id = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.pad_id = self.tokenizer.pad_token_id
        self._images: dict[Path, tuple[torch.Tensor, torch.Tensor]] = {}
        self._audio: dict[Path, tuple[torch.Tensor, torch.Tensor]] = {}

    def image(self, path: Path) -> tuple[torch.Tensor, torch.Tensor]:
        if path not in self._images:
            from mmstudio.inputs import load_image

            self._images[path] = self.image_from(load_image(path))
        return self._images[path]

    def image_from(self, image: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(pixel values, grid) of a PIL image, as the processor makes them."""
        out = self.processor.image_processor(images=[image], return_tensors="pt")
        return out["pixel_values"], out["image_grid_thw"]

    def audio(self, path: Path) -> tuple[torch.Tensor, torch.Tensor]:
        if path not in self._audio:
            self._audio[path] = self.audio_from(self.samples(path))
        return self._audio[path]

    @property
    def sampling_rate(self) -> int:
        return int(self.processor.feature_extractor.sampling_rate)

    def samples(self, path: Path) -> Any:
        """A clip's samples at the feature extractor's rate."""
        from mmstudio.inputs import load_audio

        return load_audio(path, target_rate=self.sampling_rate).samples

    def audio_from(self, samples: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(mel features, frame mask) of a clip's samples, as the processor makes them."""
        out = self.processor.feature_extractor(
            [samples],
            sampling_rate=self.sampling_rate,
            padding="max_length",
            return_attention_mask=True,
            return_tensors="pt",
        )
        return out["input_features"], out["attention_mask"]

    def prompt_text(self, record: ChatRecord) -> str:
        """The chat template applied to the record's message, placeholders not yet expanded."""
        content = []
        for part in PART_ORDER:
            if part == "text" and record.text:
                content.append({"type": "text", "text": record.text})
            elif part != "text" and getattr(record, part) is not None:
                content.append({"type": part})
        messages = [{"role": "user", "content": content}]
        return self.processor.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def example(self, record: ChatRecord) -> Example:
        text = self.prompt_text(record)
        pixels = grid = features = mask = None
        if record.image is not None:
            pixels, grid = self.image(record.image)
            merge = self.processor.image_processor.merge_size
            count = int(grid.prod()) // merge**2
            token = self.processor.image_token
            text = text.replace(token, token * count, 1)
        if record.audio is not None:
            features, mask = self.audio(record.audio)
            token = self.processor.audio_token
            text = text.replace(token, token * audio_tokens(int(mask.sum())), 1)
        prompt = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        answer = self.tokenizer(record.answer, add_special_tokens=False)["input_ids"]
        return Example(prompt, [*answer, self.end_id], pixels, grid, features, mask)


def collate(examples: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """One right-padded batch with ``labels`` on the answer tokens only (IGNORE elsewhere)."""
    length = max(len(e.prompt_ids) + len(e.answer_ids) for e in examples)
    ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    labels = torch.full((len(examples), length), IGNORE, dtype=torch.long)
    for row, example in enumerate(examples):
        sequence = example.prompt_ids + example.answer_ids
        ids[row, : len(sequence)] = torch.tensor(sequence)
        mask[row, : len(sequence)] = 1
        start = len(example.prompt_ids)
        labels[row, start : len(sequence)] = torch.tensor(example.answer_ids)
    batch: dict[str, torch.Tensor] = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    # Examples from the feature bank carry grids and masks (for the position ids) but no
    # pixels or features: their encoder tokens are put in the embeddings instead.
    images = [e for e in examples if e.image_grid_thw is not None]
    if images:
        if all(e.pixel_values is not None for e in images):
            batch["pixel_values"] = torch.cat([e.pixel_values for e in images])
        batch["image_grid_thw"] = torch.cat([e.image_grid_thw for e in images])
    clips = [e for e in examples if e.feature_attention_mask is not None]
    if clips:
        if all(e.input_features is not None for e in clips):
            batch["input_features"] = torch.cat([e.input_features for e in clips])
        batch["feature_attention_mask"] = torch.cat([e.feature_attention_mask for e in clips])
    return batch
