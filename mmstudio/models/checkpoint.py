"""Checkpoint folders: model.safetensors + config.json + labels.txt (+ metrics.json).

Pickle files (.pt, .pth, .bin, .ckpt) are refused: unpickling runs arbitrary code
from the file, and safetensors makes that unnecessary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from mmstudio.inputs.errors import InputError
from mmstudio.models.config import FusionConfig
from mmstudio.models.fusionnet import FusionNet

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
LABELS_FILE = "labels.txt"
METRICS_FILE = "metrics.json"
ARCHITECTURE = "fusionnet"
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle")

_PICKLE_REFUSAL = (
    "pickle checkpoints ({suffix}) are refused: loading one runs whatever code it contains. "
    "Save the weights as model.safetensors with a config.json instead (see docs/plugins.md)."
)


def save_checkpoint(
    model: FusionNet, folder: str | Path, metrics: dict[str, Any] | None = None
) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"architecture": ARCHITECTURE})
    config = {"architecture": ARCHITECTURE, **model.config.to_dict()}
    (folder / CONFIG_FILE).write_text(
        json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (folder / LABELS_FILE).write_text("\n".join(model.labels) + "\n", encoding="utf-8")
    if metrics is not None:
        (folder / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return folder


def refuse_pickle(path: Path) -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise InputError(_PICKLE_REFUSAL.format(suffix=path.suffix), path)


def read_config(folder: Path) -> dict[str, Any]:
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise InputError(
            "this folder has no config.json, so it is not an mmstudio checkpoint", folder
        )
    try:
        return json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"config.json is not valid JSON ({error})", folder) from error


def load_checkpoint(folder: str | Path, device: torch.device | str = "cpu") -> FusionNet:
    folder = Path(folder)
    refuse_pickle(folder)
    if not folder.exists():
        raise InputError("the checkpoint folder does not exist", folder)
    if not folder.is_dir():
        raise InputError(
            "a checkpoint is a folder holding model.safetensors and config.json", folder
        )
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
        if pickles:
            refuse_pickle(folder / pickles[0])
        raise InputError("model.safetensors is missing from the checkpoint folder", folder)
    raw = read_config(folder)
    if raw.get("architecture", ARCHITECTURE) != ARCHITECTURE:
        raise InputError(
            f"config.json describes a '{raw.get('architecture')}' model, not a FusionNet", folder
        )
    labels_path = folder / LABELS_FILE
    if labels_path.is_file():
        raw["labels"] = [
            line for line in labels_path.read_text(encoding="utf-8").splitlines() if line
        ]
    try:
        config = FusionConfig.from_dict(raw)
    except (TypeError, ValueError) as error:
        raise InputError(
            f"config.json is not a valid FusionNet configuration: {error}", folder
        ) from error
    model = FusionNet(config)
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as error:
        raise InputError(
            f"model.safetensors could not be read: it may be truncated ({error})", folder
        ) from error
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise InputError(
            "the weights do not match config.json (different sizes or layers)", folder
        ) from error
    return model.to(device).eval()


def is_trained(folder: Path) -> bool:
    """A checkpoint folder with weights, as opposed to a placeholder without them."""
    return (folder / WEIGHTS_FILE).is_file() and (folder / CONFIG_FILE).is_file()
