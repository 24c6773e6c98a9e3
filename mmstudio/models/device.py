"""Choosing where a model runs: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

from mmstudio.inputs.errors import InputError


def pick_device(requested: str | None = None) -> torch.device:
    """The device to use; ``requested`` ("auto", "cpu", "cuda", "cuda:1", "mps") forces one."""
    if requested in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as error:
        raise InputError(f"'{requested}' is not a device name (try cpu, cuda or mps)") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("CUDA was requested but no CUDA GPU is available on this machine")
    if (
        device.type == "cuda"
        and device.index is not None
        and device.index >= torch.cuda.device_count()
    ):
        raise InputError(
            f"there is no GPU number {device.index} (found {torch.cuda.device_count()})"
        )
    if device.type == "mps" and not (torch.backends.mps.is_available()):
        raise InputError("MPS was requested but Apple's Metal backend is not available here")
    return device


def describe_device(device: torch.device) -> str:
    """A short human description, such as 'CUDA: NVIDIA H100' or 'CPU (2 threads)'."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "MPS (Apple GPU)"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"
