"""mmstudio's shipped models and the FusionNet backend's entry points (pyproject.toml): the
'digits' classifier, the 'digits-chat' generator, and checkpoint folders (model.safetensors +
config.json), the format every folder that no other backend claims is opened as, so its loader
can say what is missing."""

from __future__ import annotations

from typing import Any

from mmstudio.models.registry import DEFAULT_MODEL, FolderFormat, ModelEntry, open_folder
from mmstudio.resources import chat_model_dir, default_model_dir


def load_checkpoint_folder(folder: Any, device: Any) -> Any:
    from mmstudio.models.checkpoint import load_checkpoint  # imports torch: only when loading

    return load_checkpoint(folder, device)


def digits_entry() -> ModelEntry:
    folder = default_model_dir()
    trained = (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    return ModelEntry(
        DEFAULT_MODEL,
        lambda device: open_folder(folder, device),
        description="Digits 0-9 from a handwritten or printed image, spoken English, and typed "
        "text (attention fusion, trained by this project)",
        location=str(folder),
        available=trained,
        problem="" if trained else "the shipped weights are missing from this installation",
        task="classification",
    )


# What a digits-chat folder needs to open: the weights, the model's config and the tokenizer
# (the processor's other files are read by the same Auto classes and named by their errors).
CHAT_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def digits_chat_entry() -> ModelEntry:
    """The shipped generative model, opened by path: the same generative folder loader a
    downloaded Qwen2.5-Omni or LLaVA folder goes through, nothing of its own."""
    folder = chat_model_dir()
    missing = [name for name in CHAT_FILES if not (folder / name).is_file()]
    return ModelEntry(
        "digits-chat",
        lambda device: open_folder(folder, device),
        description="Answers questions in words about the digit in an image, the number "
        "spoken in audio and the number a text names (a Qwen2.5-Omni thinker trained by "
        "this project)",
        location=str(folder),
        available=not missing,
        problem=(
            f"the shipped weights are missing from this installation (no {', '.join(missing)})"
            if missing
            else ""
        ),
        task="generation",
    )


DIGITS = digits_entry()
DIGITS_CHAT = digits_chat_entry()
CHECKPOINT_FOLDERS = FolderFormat(
    "fusionnet-checkpoint", claims=lambda spec: True, load=load_checkpoint_folder, fallback=True
)
