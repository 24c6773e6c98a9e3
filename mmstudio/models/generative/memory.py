"""How much memory a model folder needs, read from its safetensors headers alone, and how much
the device has: a model that cannot fit is refused before a single tensor is allocated.

A safetensors file starts with an 8-byte little-endian length and a JSON header that gives
every tensor's dtype and shape, so the whole model's size is known without reading its data
(a 200 GB model costs a few kilobytes of reading here). No torch import at module level: the
folder checks run before torch is needed.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError

GIB = 1024**3
# A header is a few megabytes even for models of thousands of tensors; a larger length is
# a damaged or foreign file, not worth reading.
MAX_HEADER_BYTES = 100 * 1024**2
# Bytes per element of each safetensors dtype (the sub-byte float formats are rounded up:
# an estimate that errs high only refuses a model that would have been close anyway).
DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "F8_E8M0": 1,
    "F6_E2M3": 1,
    "F6_E3M2": 1,
    "F4": 1,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U64": 8,
    "U32": 4,
    "U16": 2,
    "U8": 1,
    "BOOL": 1,
}
# The floating-point tensors are cast to the dtype the model is loaded in; the others
# (quantised weights, integer buffers) keep their own size.
FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16"})
LOAD_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
# Beyond the weights: the activations and key/value cache of a generation and its teacher-forced
# explanation passes, the allocator's slack, and on the CPU the Python and torch runtime.
MARGIN_FRACTION = 0.15
MARGIN_BYTES = 512 * 1024**2


@dataclass(frozen=True)
class WeightCensus:
    """How many elements the weights hold in each stored dtype, over every shard."""

    elements: tuple[tuple[str, int], ...]  # (safetensors dtype, element count), sorted

    @property
    def stored_bytes(self) -> int:
        return sum(count * DTYPE_BYTES[dtype] for dtype, count in self.elements)

    def bytes_as(self, load_dtype: str) -> int:
        """The weights' size once the floating-point tensors are in ``load_dtype``."""
        size = LOAD_DTYPE_BYTES[load_dtype]
        return sum(
            count * (size if dtype in FLOAT_DTYPES else DTYPE_BYTES[dtype])
            for dtype, count in self.elements
        )


def read_header(path: Path) -> dict[str, Any]:
    """The JSON header of one safetensors file; none of its tensor data is read."""
    try:
        with path.open("rb") as file:
            prefix = file.read(8)
            if len(prefix) < 8:
                raise InputError("the file is too short to be safetensors weights", path)
            (length,) = struct.unpack("<Q", prefix)
            if length > MAX_HEADER_BYTES or length > path.stat().st_size - 8:
                raise InputError(
                    "the file is not safetensors weights (its header length is "
                    f"{length} bytes), or it is damaged",
                    path,
                )
            header = json.loads(file.read(length).decode("utf-8"))
    except OSError as error:
        raise InputError(f"the file cannot be read ({error.strerror or error})", path) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise InputError(
            f"the safetensors header is not valid JSON ({error}); the file is damaged", path
        ) from None
    if not isinstance(header, dict):
        raise InputError("the safetensors header is not a JSON object; the file is damaged", path)
    return header


def census(files: list[Path] | tuple[Path, ...], prefix: str = "") -> WeightCensus:
    """The element count per dtype of every tensor declared in ``files``' headers whose name
    starts with ``prefix`` (the part of a composite model that is loaded)."""
    counts: Counter[str] = Counter()
    for path in files:
        for name, info in read_header(path).items():
            if name == "__metadata__" or not name.startswith(prefix):
                continue
            dtype, shape = _tensor(info, name, path)
            counts[dtype] += math.prod(shape)
    return WeightCensus(tuple(sorted(counts.items())))


def _tensor(info: Any, name: str, path: Path) -> tuple[str, list[int]]:
    dtype = info.get("dtype") if isinstance(info, dict) else None
    shape = info.get("shape") if isinstance(info, dict) else None
    if dtype not in DTYPE_BYTES:
        raise InputError(f"the tensor {name} has an unknown dtype {dtype!r}", path)
    if not isinstance(shape, list) or not all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in shape
    ):
        raise InputError(f"the tensor {name} has no valid shape ({shape!r})", path)
    return dtype, shape


def required_bytes(weights: WeightCensus, load_dtype: str) -> int:
    """The memory a model needs: its weights in ``load_dtype`` plus the margin above."""
    size = weights.bytes_as(load_dtype)
    return size + int(size * MARGIN_FRACTION) + MARGIN_BYTES


def available_bytes(device: Any) -> int:
    """Free memory on ``device``: the GPU's free memory on CUDA, MemAvailable on the CPU."""
    kind = getattr(device, "type", None) or str(device).split(":")[0]
    if kind == "cuda":
        import torch  # only a GPU load asks; the CPU answer needs no torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    return system_available_bytes()


def system_available_bytes() -> int:
    """MemAvailable (what can be allocated without swapping out the rest), or the free pages
    where /proc/meminfo is missing (macOS, the BSDs)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def gib(size: int) -> str:
    return f"{size / GIB:.1f} GiB"


def check_fits(
    weights: WeightCensus, load_dtype: str, device: Any, folder: Path, available: int | None = None
) -> int:
    """Refuse a model that needs more than the device has free; the bytes it needs otherwise."""
    needed = required_bytes(weights, load_dtype)
    free = available_bytes(device) if available is None else available
    if needed > free:
        where = "GPU memory" if "cuda" in str(device) else "memory"
        raise InputError(
            f"the model needs about {gib(needed)} of {where} in {load_dtype} "
            f"({gib(weights.bytes_as(load_dtype))} of weights plus working room), but only "
            f"{gib(free)} is available on {device}; close other programs, use a device with "
            "more memory, or choose a smaller model",
            folder,
        )
    return needed
