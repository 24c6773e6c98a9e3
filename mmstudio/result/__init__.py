"""Analysis results: a common part (modalities, model, timings, notes) and one part per task,
classification (:class:`Analysis`) or generation (:class:`GenerationAnalysis`)."""

from __future__ import annotations

from typing import Any

from mmstudio.result.classification import Analysis
from mmstudio.result.common import (
    CLASSIFICATION,
    GENERATION,
    JSON_HEATMAP_SIDE,
    AnalysisCommon,
    NonFiniteAnalysisError,
)
from mmstudio.result.generation import GenerationAnalysis

AnyAnalysis = Analysis | GenerationAnalysis

__all__ = [
    "CLASSIFICATION",
    "GENERATION",
    "JSON_HEATMAP_SIDE",
    "Analysis",
    "AnalysisCommon",
    "AnyAnalysis",
    "GenerationAnalysis",
    "NonFiniteAnalysisError",
    "analysis_from_dict",
]


def analysis_from_dict(data: dict[str, Any]) -> AnyAnalysis:
    """The analysis a ``to_dict`` wrote, of the task it names (classification when it names
    none: JSON written before analyses carried their task)."""
    if data.get("task", CLASSIFICATION) == GENERATION:
        return GenerationAnalysis.from_dict(data)
    return Analysis.from_dict(data)
