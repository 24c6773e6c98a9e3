"""What every analysis holds, whatever the model's task: the modalities, the model, the device,
timings and notes, and the strict JSON both parts are written as.

Plain numpy arrays and floats only, so the GUI, the CLI and tests can use an analysis without
torch, and it round-trips through JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CLASSIFICATION = "classification"
GENERATION = "generation"

# The JSON's image heatmap: enough to see where the model looked, without a 6000 x 6000 photo
# becoming 100 MB of numbers.
JSON_HEATMAP_SIDE = 256


class NonFiniteAnalysisError(ValueError):
    """The analysis holds NaN or infinite numbers, which JSON cannot carry."""


@dataclass(kw_only=True)
class AnalysisCommon:
    """The common part. ``modalities`` are the model's, in its order; ``present`` the ones the
    sample had. ``compute_dtype`` is the dtype the model computed in (autocast counts:
    "bfloat16" with float32 weights under bf16 autocast), ``parameter_dtype`` the one its
    weights are stored in."""

    modalities: list[str]
    present: list[str]
    timings_ms: dict[str, float] = field(default_factory=dict)
    model_name: str = ""
    device: str = ""
    compute_dtype: str = ""
    parameter_dtype: str = ""
    notes: list[str] = field(default_factory=list)


def strict_json(data: dict[str, Any], indent: int | None) -> str:
    """``data`` as JSON; a non-finite number raises NonFiniteAnalysisError, never writes NaN."""
    try:
        return json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False)
    except ValueError as error:
        raise NonFiniteAnalysisError(
            "the analysis holds numbers that are not finite (NaN or infinity)"
        ) from error


def arrays_from_lists(
    kwargs: dict[str, Any], names: Iterable[str], dtypes: dict[str, Any]
) -> dict[str, Any]:
    """``kwargs`` with the JSON lists of ``names`` turned back into arrays (float32 unless
    ``dtypes`` says otherwise)."""
    for name in names:
        if kwargs.get(name) is not None:
            kwargs[name] = np.asarray(kwargs[name], dtype=dtypes.get(name, np.float32))
    return kwargs
