"""Checkpoint folders: model.safetensors + config.json + labels.txt (+ metrics.json).

Pickle files (.pt, .pth, .bin, .ckpt) are refused: unpickling runs arbitrary code
from the file, and safetensors makes that unnecessary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from mmstudio.inputs.errors import InputError
from mmstudio.models.config import ConfigError, FusionConfig
from mmstudio.models.fusionnet import FusionNet
from mmstudio.models.json_file import read_json_object
from mmstudio.models.validation import (
    check_size,
    classes_in_weights,
    compare_shapes,
    describe_mismatch,
    expected_shapes,
    first_non_finite,
    meta_network,
)

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
LABELS_FILE = "labels.txt"
METRICS_FILE = "metrics.json"
ARCHITECTURE = "fusionnet"
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle")
# A config is a few kB; anything far larger is not one, and is not worth parsing.
MAX_CONFIG_BYTES = 1_000_000

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
    """Refuse a file that is a pickle by name or by content (a renamed one is still a pickle)."""
    if path.suffix.lower() in PICKLE_SUFFIXES or _looks_like_pickle(path):
        raise InputError(_PICKLE_REFUSAL.format(suffix=path.suffix or "no suffix"), path)


def _looks_like_pickle(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            head = file.read(4)
    except OSError:
        return False
    # Pickle protocols 2-5 start with PROTO n; torch.save writes a zip archive of pickles.
    return (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5) or head == b"PK\x03\x04"


def read_config(folder: Path) -> dict[str, Any]:
    """config.json parsed, as a JSON object; the checks of its fields come after."""
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise InputError(
            "this folder has no config.json, so it is not an mmstudio checkpoint", folder
        )
    return read_json_object(config_path, MAX_CONFIG_BYTES)


def read_labels(path: Path) -> list[str]:
    """labels.txt: one label per line, blank lines ignored, each label once."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"the file is not UTF-8 text (byte {error.start})", path) from None
    except OSError as error:
        raise InputError(f"the file cannot be read ({error.strerror or error})", path) from None
    labels: dict[str, int] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        label = line.strip()
        if label in labels:
            raise InputError(
                f"line {line_no}: the label {label!r} is already on line {labels[label]}", path
            )
        if label:
            labels[label] = line_no
    if len(labels) < 2:
        raise InputError(
            f"the file lists {len(labels)} label(s); a classifier needs two or more", path
        )
    return list(labels)


def load_checkpoint(folder: str | Path, device: torch.device | str = "cpu") -> FusionNet:
    """Load a checkpoint folder, refusing anything wrong with it before allocating the network.

    The order matters: config.json's fields, then the network's size and the shapes in the
    weights file's header (both free: see mmstudio.models.validation), then the weights'
    values. Every error names the file, and the field or tensor, at fault. The network is
    built once, on the meta device, and the weights read from the file take its tensors'
    places: no initialiser runs for values the file overwrites.
    """
    folder = Path(folder)
    weights = _weights_file(folder)
    config, labels_source = _config(folder)
    network = meta_network(config, folder / CONFIG_FILE)
    _check_shapes(weights, expected_shapes(network), config, labels_source)
    check_size(config, network, folder / CONFIG_FILE)
    state = _read_weights(weights)
    return _materialize(network, state).to(device).eval()


def _materialize(network: FusionNet, state: dict[str, torch.Tensor]) -> FusionNet:
    """``network`` (on the meta device) holding the tensors of ``state``, whose names and shapes
    have been checked against it.

    Each tensor is copied, in the dtype the network declares, as loading into a network built
    on the CPU would: safetensors' tensors are views into one buffer at whatever offsets the
    file has, and vectorised kernels round differently on unaligned data, so without the copy
    the logits would differ from the old loader's in the last bits. ``assign`` then keeps the
    copies instead of copying a second time.
    """
    declared = network.state_dict(keep_vars=True)
    network.load_state_dict(
        {name: tensor.to(declared[name].dtype, copy=True) for name, tensor in state.items()},
        assign=True,
    )
    # A tensor the state dict does not cover (a non-persistent buffer) would still be on the
    # meta device, and the first forward pass would fail far from here.
    left = [name for name, tensor in _tensors(network) if tensor.is_meta]
    if left:
        raise RuntimeError(f"FusionNet has tensors a checkpoint does not hold: {', '.join(left)}")
    return network


def _tensors(network: torch.nn.Module):
    yield from network.named_parameters()
    yield from network.named_buffers()


def _weights_file(folder: Path) -> Path:
    if not folder.exists():
        raise InputError("the checkpoint folder does not exist", folder)
    if not folder.is_dir():
        refuse_pickle(folder)
        raise InputError(
            "a checkpoint is a folder holding model.safetensors and config.json", folder
        )
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
        if pickles:
            refuse_pickle(folder / pickles[0])
        raise InputError("model.safetensors is missing from the checkpoint folder", folder)
    refuse_pickle_content(weights)
    return weights


def refuse_pickle_content(path: Path) -> None:
    if _looks_like_pickle(path):
        raise InputError(
            "the file is a pickle under a safetensors name; it is refused, since loading it "
            "would run whatever code it contains",
            path,
        )


def _config(folder: Path) -> tuple[FusionConfig, Path]:
    """The validated config, and the file its labels came from."""
    raw = read_config(folder)
    config_path = folder / CONFIG_FILE
    if raw.get("architecture", ARCHITECTURE) != ARCHITECTURE:
        raise InputError(
            f"'architecture' is {raw.get('architecture')!r}, not a FusionNet", config_path
        )
    labels_path = folder / LABELS_FILE
    if labels_path.is_file():
        raw["labels"] = read_labels(labels_path)
    try:
        config = FusionConfig.from_dict(raw)
    except ConfigError as error:
        at_fault = labels_path if error.field == "labels" and labels_path.is_file() else config_path
        raise InputError(error.reason, at_fault) from error
    return config, labels_path if labels_path.is_file() else config_path


def _check_shapes(
    weights: Path, expected: dict[str, tuple[int, ...]], config: FusionConfig, labels_source: Path
) -> None:
    mismatches = compare_shapes(expected, _stored_shapes(weights))
    if not mismatches:
        return
    classes = classes_in_weights(mismatches, len(config.labels))
    if classes is not None:
        words = "too few" if classes > len(config.labels) else "too many"
        what = "lists" if labels_source.name == LABELS_FILE else "'labels' lists"
        raise InputError(
            f"{what} {len(config.labels)} labels, but the weights were trained for {classes} "
            f"classes: {words} labels",
            labels_source,
        )
    raise InputError(describe_mismatch(mismatches, config), weights)


def _stored_shapes(weights: Path) -> dict[str, tuple[int, ...]]:
    """The tensor shapes in the safetensors header; the data is not read."""
    try:
        with safe_open(str(weights), framework="pt") as file:
            return {name: tuple(file.get_slice(name).get_shape()) for name in file.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        raise InputError(
            f"the file could not be read: it may be truncated ({error})", weights
        ) from error


def _read_weights(weights: Path) -> dict[str, torch.Tensor]:
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise InputError(
            f"the file could not be read: it may be truncated ({error})", weights
        ) from error
    broken = first_non_finite(state)
    if broken is not None:
        raise InputError(f"the tensor {broken} holds NaN or infinite values", weights)
    return state
