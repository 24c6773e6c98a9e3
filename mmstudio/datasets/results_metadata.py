"""What a results file's metadata says, and the names it is written in: the metadata key, the
coalitions' names and a model's weights fingerprint. Both the row schema
(:mod:`mmstudio.datasets.schema`) and the second model's columns
(:mod:`mmstudio.datasets.compare`) write part of it, so it sits below both."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

METADATA_KEY = b"mmstudio"
EMPTY_COALITION = "none"


def coalition_names(modalities: Sequence[str]) -> list[str]:
    """Names of the coalitions in the order of ``explain.shapley.coalition_masks``."""
    # Imported here: it brings torch, which reading a results file's metadata does not need.
    from mmstudio.explain.shapley import coalition_masks

    names = []
    for row in coalition_masks(len(modalities)).tolist():
        members = [m for m, on in zip(modalities, row, strict=True) if on]
        names.append("+".join(members) or EMPTY_COALITION)
    return names


def model_fingerprint(model) -> str:
    """A digest of the model's weights: a retrained checkpoint under the same name differs."""
    import torch  # only where a model is fingerprinted, which has loaded torch already

    if hasattr(model, "hf_model"):
        return _sampled_fingerprint(model.hf_model)
    digest = hashlib.sha256()
    state = model.state_dict() if hasattr(model, "state_dict") else {}
    for name, tensor in state.items():
        digest.update(name.encode("utf-8"))
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()[:16]


def _sampled_fingerprint(module) -> str:
    """A digest of a generative model's weights that costs no pass over billions of numbers:
    every tensor's name, shape and dtype, and up to 64 of its values, evenly spread (a
    retrained or fine-tuned model differs in them; one loaded in another dtype differs too)."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        flat = tensor.detach().reshape(-1)
        if flat.numel():
            picks = torch.linspace(0, flat.numel() - 1, min(64, flat.numel())).long()
            digest.update(flat[picks.to(flat.device)].float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def layout_of(schema: pa.Schema) -> dict[str, Any]:
    """The JSON metadata a results schema carries (labels, modalities, coalitions, model)."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}
