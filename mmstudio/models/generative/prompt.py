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


def is_multimodal(processor: Any) -> bool:
    """A processor with an image processor or a feature extractor, not a bare tokenizer."""
    return any(
        getattr(processor, part, None) is not None
        for part in ("image_processor", "feature_extractor")
    )


def render(processor: Any, content: list[dict[str, Any]]) -> str:
    """The chat template applied to one user message, ending where the answer starts."""
    if not is_multimodal(processor):
        # A text-only model's tokenizer: its chat templates take the content as a string.
        content = " ".join(part["text"] for part in content if part["type"] == "text")
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
        # One list of images per row, empty where the row has none: a flat list is ambiguous
        # when only some rows have an image, and some processors (Gemma 3's) then read it as
        # all the images of the first row.
        row_images = []
        if "image" in kinds:
            if images is not None:
                row_images.append(images[row])
            else:
                media = id(sample.image)
                if media not in converted:
                    converted[media] = sample.image.convert("RGB")
                row_images.append(converted[media])
        image_list.append(row_images)
        if "audio" in kinds:
            if audios is not None:
                audio_list.append(audios[row])
            else:
                media = id(sample.audio)
                if media not in converted:
                    converted[media] = audio_at(sample, style.sampling_rate)
                audio_list.append(converted[media])
    kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
    if any(image_list):
        kwargs["images"] = image_list
    if audio_list:
        kwargs[style.audio_keyword] = audio_list
        kwargs["sampling_rate"] = style.sampling_rate
    tokenizer = getattr(processor, "tokenizer", processor)
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        inputs = sharing_media(processor)(**kwargs)
    finally:
        tokenizer.padding_side = side
    # Processors made for fine-tuning (PaliGemma's) add training labels, which would make the
    # model compute a loss over the prompt: the answer's scores are all mmstudio needs.
    inputs.pop("labels", None)
    return inputs
