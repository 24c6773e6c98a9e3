"""A test-only worker for torchrun: ``python -m tests.core.ddp_parallel OUT``.

Each rank builds :class:`Toy` from a seed of its own, so the ranks start from different
weights, calls its ``score`` method through ``data_parallel`` on an input of its own, runs
the backward pass and writes to ``OUT/rank<r>.json`` its weights after wrapping and the
gradient of every parameter (null for a parameter that got none).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch import nn

from mmstudio.training.distributed import data_parallel, setup_from_env, teardown

SCALE = 3.0


class Toy(nn.Module):
    """A linear layer ``score`` uses and a parameter it never does."""

    def __init__(self):
        super().__init__()
        self.used = nn.Linear(3, 2)
        self.unused = nn.Parameter(torch.ones(2))

    def score(self, x: torch.Tensor, *, scale: float) -> torch.Tensor:
        return (self.used(x) ** 2).sum() * scale


def rank_input(rank: int) -> torch.Tensor:
    return torch.arange(12, dtype=torch.float32).view(4, 3) * (rank + 1) / 10


def main(out: str) -> int:
    torch.set_num_threads(1)
    context = setup_from_env("cpu")
    try:
        torch.manual_seed(100 + context.rank)
        model = Toy()
        score = data_parallel(model, "score", context)
        weights = {k: v.tolist() for k, v in model.state_dict().items()}
        score(rank_input(context.rank), scale=SCALE).backward()
        grads = {
            k: None if p.grad is None else p.grad.tolist() for k, p in model.named_parameters()
        }
        path = Path(out) / f"rank{context.rank}.json"
        path.write_text(json.dumps({"weights": weights, "grads": grads}), encoding="utf-8")
    finally:
        teardown(context)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
