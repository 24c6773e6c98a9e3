"""A sample as a chat prompt for a Hugging Face processor, with any coalition of its modalities.

The user's message holds one part per modality the coalition keeps: the image, then the audio,
then the text. A modality outside the coalition is removed from the chat template: its part of
the message is left out, so the prompt is the one a user would have written without it (the
explanation's modelling choice, shown in the window as ``ABSENT_MODALITY``).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmstudio.inputs.resample import resample
from mmstudio.inputs.sample import Sample
from mmstudio.models.generative.shared_media import sharing_media

# The order of the parts in the user's message: media first, then the question, the layout
# every family's own chat examples use.
PART_ORDER = ("image", "audio", "text")


def message_content(sample: Sample, coalition: Sequence[str]) -> list[dict[str, Any]]:
    """The parts of the user's message for the modalities of ``coalition`` the sample has."""
    keep = set(coalition) & set(sample.present)
    content: list[dict[str, Any]] = []
    for modality in PART_ORDER:
        if modality not in keep:
            continue
        if modality == "text":
            content.append({"type": "text", "text": sample.text})
        else:
            content.append({"type": modality})
    return content


def render(processor: Any, content: list[dict[str, Any]]) -> str:
    """The chat template applied to one user message, ending where the answer starts."""
    messages = [{"role": "user", "content": content}]
    return processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@dataclass(frozen=True)
class ProcessorStyle:
    """What a family's processor calls its audio argument, and the rate its features expect."""

    audio_keyword: str | None
    sampling_rate: int | None

    @classmethod
    def of(cls, processor: Any) -> ProcessorStyle:
        extractor = getattr(processor, "feature_extractor", None)
        if extractor is None:
            return cls(None, None)
        parameters = inspect.signature(processor.__call__).parameters
        keyword = "audio" if "audio" in parameters else "audios"
        if "audio" not in parameters and "audios" not in parameters:
            keyword = "audio"  # **kwargs processors (transformers 5) take "audio"
        return cls(keyword, int(getattr(extractor, "sampling_rate", 16000)))


def audio_at(sample: Sample, rate: int) -> np.ndarray:
    clip = sample.audio
    samples = np.asarray(clip.samples, dtype=np.float32)
    if clip.sample_rate != rate:
        samples = resample(samples, clip.sample_rate, rate)
    return samples


def processor_inputs(
    processor: Any,
    style: ProcessorStyle,
    samples: Sequence[Sample],
    coalitions: Sequence[Sequence[str]],
    *,
    images: Sequence[Any] | None = None,
    audios: Sequence[np.ndarray] | None = None,
):
    """One batch of processor inputs: row i is ``samples[i]`` prompted with ``coalitions[i]``,
    left-padded so every row ends where its answer starts. ``images`` / ``audios`` replace the
    samples' own media row by row (occlusion passes masked copies)."""
    texts, image_list, audio_list = [], [], []
    # Rows that share a sample's image or clip pass the same object, so the processor
    # (sharing_media) processes it once.
    converted: dict[int, Any] = {}
    # Occlusion rows that mask only media render the same message: the template runs once.
    rendered: dict[tuple, str] = {}
    for row, (sample, coalition) in enumerate(zip(samples, coalitions, strict=True)):
        content = message_content(sample, coalition)
        key = tuple((part["type"], part.get("text")) for part in content)
        if key not in rendered:
            rendered[key] = render(processor, content)
        texts.append(rendered[key])
        kinds = {part["type"] for part in content}
        if "image" in kinds:
            if images is not None:
                image_list.append(images[row])
            else:
                key = id(sample.image)
                if key not in converted:
                    converted[key] = sample.image.convert("RGB")
                image_list.append(converted[key])
        if "audio" in kinds:
            if audios is not None:
                audio_list.append(audios[row])
            else:
                key = id(sample.audio)
                if key not in converted:
                    converted[key] = audio_at(sample, style.sampling_rate)
                audio_list.append(converted[key])
    kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
    if image_list:
        kwargs["images"] = image_list
    if audio_list:
        kwargs[style.audio_keyword] = audio_list
        kwargs["sampling_rate"] = style.sampling_rate
    tokenizer = getattr(processor, "tokenizer", processor)
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        return sharing_media(processor)(**kwargs)
    finally:
        tokenizer.padding_side = side
