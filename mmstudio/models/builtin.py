"""The FusionNet backend's entry points (pyproject.toml): the shipped 'digits' model and
checkpoint folders (model.safetensors + config.json), the format every folder that no other
backend claims is opened as, so its loader can say what is missing."""

from __future__ import annotations

from typing import Any

from mmstudio.models.registry import DEFAULT_MODEL, FolderFormat, ModelEntry, open_folder
from mmstudio.resources import default_model_dir


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


DIGITS = digits_entry()
CHECKPOINT_FOLDERS = FolderFormat(
    "fusionnet-checkpoint", claims=lambda spec: True, load=load_checkpoint_folder, fallback=True
)
