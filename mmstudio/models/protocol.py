"""The model contract: what mmstudio needs from any model it explains.

A model declares its ``task``. A classifier takes one of two ways to run: either it splits into
``preprocess`` / ``encode`` / ``fuse`` (encoders run once, the fusion head runs per coalition:
exact Shapley costs about one head pass), or it offers one ``coalition_logits`` call for
models that cannot be split. A generator (task "generation") generates an answer and
teacher-forces one under any coalition of the modalities (:class:`AnswerModel`). The Analyzer checks a model against these protocols when it is
given one, and refuses a model that follows neither, naming what is missing. See
docs/plugins.md for a worked example.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from mmstudio.inputs.sample import Sample

CLASSIFICATION = "classification"
GENERATION = "generation"
# The tasks the Analyzer explains.
TASKS = (CLASSIFICATION, GENERATION)
# What a model that declares no task is taken to do: plugins written before models declared
# their task are all classifiers, and keep working unchanged.
DEFAULT_TASK = CLASSIFICATION


@runtime_checkable
class FusionModel(Protocol):
    name: str
    labels: list[str]
    # The modalities the model accepts, a subset of mmstudio.MODALITIES, in that order.
    modalities: tuple[str, ...]
    # What the model does, one of TASKS. Optional for backward compatibility: see model_task.
    task: str

    def to(self, device: torch.device) -> Any: ...

    def eval(self) -> Any: ...


# The two ways to run check only their methods, not FusionModel's attributes: a model without
# ``task`` (or, as before, without ``name`` or ``modalities``) still runs.
@runtime_checkable
class SplitFusionModel(Protocol):
    def preprocess(self, samples: Sequence[Sample]) -> Any:
        """Model-ready inputs with a ``present`` (B, M) bool tensor and ``to(device)``."""

    def encode(self, batch: Any) -> Any:
        """Encoder outputs with a ``present`` (B, M) bool tensor."""

    def fuse(self, encoded: Any, presence: torch.Tensor) -> Any:
        """presence (B, K, M) -> an object with ``logits`` (B, K, C) and
        ``modality_weights`` (B, K, M) summing to 1 (or None if the model has none). The
        Analyzer's coalitions are already restricted to the modalities each sample has."""


@runtime_checkable
class WholeFusionModel(Protocol):
    def coalition_logits(self, samples: Sequence[Sample], presence: torch.Tensor) -> Any:
        """presence (B, K, M), already restricted to the modalities each sample has ->
        logits (B, K, C): each sample under each coalition."""


@runtime_checkable
class AnswerModel(Protocol):
    """A generative model (task "generation"), e.g. models.generative.model.GenerativeModel."""

    def generate(self, sample: Sample, options: Any, *, on_token=None, should_stop=None) -> Any:
        """The answer's new token ids (``.token_ids``) and why it ended (``.finished``),
        passing each token to ``on_token`` as it is chosen and asking ``should_stop`` between
        steps."""

    def answer_logprobs(
        self, samples: Sequence[Sample], coalitions: Sequence[Sequence[str]], answer_ids: Any
    ) -> Any:
        """(rows, T) log-probability of each answer token when row i's prompt holds only the
        modalities of coalitions[i]."""

    def token_texts(self, token_ids: Sequence[int]) -> list[str]:
        """The answer's tokens as they read, concatenating to the answer."""


# Optional, on either kind of classifier:
#   heatmaps(batch, encoded, output, predicted) -> list[mmstudio.explain.heatmaps.Heatmaps]
#     (a whole model gets its samples as ``batch`` and None as ``encoded``)
#   tokens_for(samples, row) -> list[str]  -- a whole model's text tokens, for its heatmaps
#   fusion_weights_kind: str  -- what the modality weights mean, shown in the window

_SPLIT_METHODS = ("preprocess", "encode", "fuse")


def model_task(model: Any) -> str:
    """The task ``model`` declares, DEFAULT_TASK when it declares none."""
    return getattr(model, "task", DEFAULT_TASK)


def contract_problem(model: Any) -> str:
    """Why the Analyzer cannot explain ``model`` (what it lacks), or "" when it can."""
    task = model_task(model)
    if task not in TASKS:
        return f"it declares the task {task!r}, and mmstudio explains {', '.join(TASKS)} models"
    if task == GENERATION:
        if isinstance(model, AnswerModel) and hasattr(model, "to") and hasattr(model, "eval"):
            return ""
        lacking = [
            name
            for name in ("generate", "answer_logprobs", "token_texts", "to", "eval")
            if not hasattr(model, name)
        ]
        return f"it declares the task 'generation' and has no {' or '.join(lacking)}"
    lacking = [name for name in ("labels", "to", "eval") if not hasattr(model, name)]
    if lacking:
        return f"it has no {' or '.join(lacking)}"
    if isinstance(model, (WholeFusionModel, SplitFusionModel)):
        return ""
    split = [name for name in _SPLIT_METHODS if hasattr(model, name)]
    if split:
        missing = [name for name in _SPLIT_METHODS if name not in split]
        return (
            f"it has {', '.join(split)} but no {' or '.join(missing)}: a split model needs "
            "all of preprocess, encode and fuse"
        )
    return (
        "it has neither preprocess, encode and fuse (a split model) nor coalition_logits "
        "(a whole model)"
    )
