"""Data-parallel training across processes launched by torchrun (``torch.distributed.run``).

Every process holds the whole model and reads its own slice of each global batch; torch's
DistributedDataParallel averages the gradients across processes during the backward pass, and
each process scales its loss so that the average is the gradient of the global batch's mean
loss: one optimiser step equals the single-process step on the whole global batch (to float
rounding). Batch normalisation is the one layer whose forward pass depends on the other samples
of the batch: :class:`GlobalBatchNorm2d` computes its statistics over the global batch, which
torch's own SyncBatchNorm does only on GPUs.

The process group uses gloo on the CPU and nccl on CUDA, the accelerator picked through
``torch.accelerator``. Only rank 0 writes files; see docs/scale.md for launching on several
machines and when it pays.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as differentiable
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from mmstudio.inputs.errors import InputError
from mmstudio.models.device import pick_device

# How long a process waits in a collective for the others. torchrun tears the group down as
# soon as one process dies, so this only bounds a hang that torchrun cannot see.
COLLECTIVE_TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in the group; ``SINGLE`` is a world of one with no group."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str = ""

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def slice_of(self, count: int) -> slice:
        """This rank's rows of a global batch of ``count``: contiguous, in rank order, so the
        slices of all ranks concatenate to the global batch."""
        return slice(
            count * self.rank // self.world_size, count * (self.rank + 1) // self.world_size
        )


SINGLE = DistributedContext()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError as error:
        raise InputError(f"the environment variable {name} is '{value}', not a number") from error


def setup_from_env(device: str = "auto") -> DistributedContext:
    """The context torchrun's environment describes (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_*).

    Without WORLD_SIZE, or with a world of one, this is a single process on ``device``.
    Otherwise the process group starts: gloo on the CPU, nccl (or the accelerator's own
    backend) when an accelerator is used, one device per local rank.
    """
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return DistributedContext(device=pick_device(device))
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    chosen = _rank_device(device, local_rank)
    backend = _backend_for(chosen)
    if not dist.is_initialized():
        dist.init_process_group(
            backend=backend, rank=rank, world_size=world_size, timeout=COLLECTIVE_TIMEOUT
        )
    return DistributedContext(rank, world_size, local_rank, chosen, backend)


def _rank_device(requested: str, local_rank: int) -> torch.device:
    """The CPU, or this local rank's accelerator (one per process, round robin)."""
    if requested == "cpu" or (requested in ("", "auto") and not torch.accelerator.is_available()):
        return torch.device("cpu")
    accelerator = torch.accelerator.current_accelerator()
    kind = torch.device(requested).type if requested not in ("", "auto") else None
    if accelerator is None or (kind is not None and kind != accelerator.type):
        raise InputError(
            f"distributed training on '{requested}' needs that accelerator, and this machine "
            f"has {accelerator.type if accelerator else 'none'}; try --device cpu"
        )
    index = local_rank % torch.accelerator.device_count()
    torch.accelerator.set_device_index(index)
    return torch.device(accelerator.type, index)


def _backend_for(device: torch.device) -> str:
    if device.type == "cpu":
        return "gloo"
    try:
        return dist.get_default_backend_for_device(device)
    except (RuntimeError, ValueError) as error:
        raise InputError(
            f"torch has no distributed backend for {device.type}; try --device cpu"
        ) from error


def teardown(context: DistributedContext) -> None:
    """Leave the process group (a no-op for a single process)."""
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(context: DistributedContext) -> None:
    """Wait for every rank: where rank 0 writes something the others then read."""
    if context.distributed:
        dist.barrier()


# ------------------------------------------------------------------------- the training step


def all_sum(values: Sequence[float | torch.Tensor], context: DistributedContext) -> list[float]:
    """The sums over ranks of a few scalars (one collective for all of them)."""
    total = torch.tensor([float(v) for v in values], dtype=torch.float64)
    if context.distributed:
        total = total.to(context.device)
        dist.all_reduce(total)
    return total.tolist()


def any_rank(flag: bool, context: DistributedContext) -> bool:
    """Whether any rank says ``flag``: a decision such as stopping must be taken by all ranks
    at the same step, or the others wait forever in the next collective."""
    return all_sum([float(bool(flag))], context)[0] > 0


class _MethodForward(nn.Module):
    """``model.<method>`` as a forward pass: DistributedDataParallel prepares its gradient
    all-reduce only when its own forward runs, and training calls a method other than
    ``forward``. The model is a submodule, so its parameters are this module's."""

    def __init__(self, model: nn.Module, method: str):
        super().__init__()
        self.model, self.method = model, method

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.model, self.method)(*args, **kwargs)


def data_parallel(model: nn.Module, method: str, context: DistributedContext) -> Callable[..., Any]:
    """``model.<method>`` for one process; under a group, the same call through torch's
    DistributedDataParallel, which starts every rank from rank 0's weights and buffers and,
    in the backward pass, replaces each gradient by its mean over the ranks.

    The model itself stays unwrapped, so its state dict (checkpoints, resumable state) has
    no "module." prefixes. Parameters the method never uses (image and audio positions
    outside attention fusion) keep no gradient, as in one process, through
    ``find_unused_parameters``. Buffers are not broadcast at each step: batch normalisation
    updates its running statistics from the global batch (:class:`GlobalBatchNorm2d`), so
    they stay equal on every rank.
    """
    if not context.distributed:
        return getattr(model, method)
    return DistributedDataParallel(
        _MethodForward(model, method),
        device_ids=None if context.device.type == "cpu" else [context.device],
        broadcast_buffers=False,
        find_unused_parameters=True,
    )


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics cover the global batch across all ranks.

    The sums go through the differentiable all-reduce, so the backward pass carries the
    gradient of every rank's loss through the shared mean and variance, as a single process
    computing the whole batch would. Evaluation uses the running statistics, which every
    rank updates alike. Same state as BatchNorm2d, so checkpoints do not change.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized()):
            return super().forward(x)
        dims = [0, 2, 3]
        count = torch.full((1,), x.numel() / x.shape[1], dtype=x.dtype, device=x.device)
        sums = differentiable.all_reduce(torch.cat([x.sum(dims), count]))
        total = sums[-1]
        mean = sums[:-1] / total
        centred = x - mean.view(1, -1, 1, 1)
        var = differentiable.all_reduce((centred * centred).sum(dims)) / total
        if self.track_running_stats and self.running_mean is not None:
            self._update_running(mean.detach(), var.detach(), float(total.detach()))
        scale = torch.rsqrt(var + self.eps)
        if self.affine:
            scale = scale * self.weight
        out = centred * scale.view(1, -1, 1, 1)
        return out + self.bias.view(1, -1, 1, 1) if self.affine else out

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor, total: float) -> None:
        self.num_batches_tracked += 1
        momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * (total / max(total - 1.0, 1.0))
        self.running_mean.mul_(1.0 - momentum).add_(mean, alpha=momentum)
        self.running_var.mul_(1.0 - momentum).add_(unbiased, alpha=momentum)


def globalize_batch_norm(model: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d of ``model`` by a :class:`GlobalBatchNorm2d` with its state."""
    for name, child in model.named_children():
        if type(child) is nn.BatchNorm2d:
            replacement = GlobalBatchNorm2d(
                child.num_features, child.eps, child.momentum, child.affine,
                child.track_running_stats,
            )  # fmt: skip
            replacement.load_state_dict(child.state_dict())
            replacement.to(next(child.buffers(), torch.empty(0)).device)
            setattr(model, name, replacement)
        else:
            globalize_batch_norm(child)
    return model


class RankSlices(torch.utils.data.Sampler[list[int]]):
    """This rank's share of each global batch that ``batches`` draws."""

    def __init__(self, batches: torch.utils.data.Sampler[list[int]], context: DistributedContext):
        self.batches, self.context = batches, context

    def __iter__(self):
        for batch in self.batches:
            yield batch[self.context.slice_of(len(batch))]

    def __len__(self) -> int:
        return len(self.batches)


# --------------------------------------------------------------------------------- launching


def torchrun_command(
    nproc: int,
    module: str,
    args: Sequence[str],
    *,
    nnodes: int = 1,
    rdzv_endpoint: str | None = None,
    node_rank: int | None = None,
    rdzv_id: str = "mmstudio",
) -> list[str]:
    """The command that runs ``python -m module *args`` in ``nproc`` processes per machine.

    One machine uses torchrun's standalone rendezvous (a free local port). Several machines
    (``nnodes`` > 1) meet at ``rdzv_endpoint`` ("host:port" of one of them) through the c10d
    rendezvous; run the same command on each. A failed process is not restarted: a restart
    would repeat steps the others already took.
    """
    if nproc < 1 or nnodes < 1:
        raise InputError(f"give at least one process and one machine, not {nproc} and {nnodes}")
    command = [sys.executable, "-m", "torch.distributed.run"]
    if nnodes == 1 and rdzv_endpoint is None:
        command.append("--standalone")
    else:
        if not rdzv_endpoint:
            raise InputError(
                "training on several machines needs a rendezvous endpoint (host:port) that "
                "every machine can reach"
            )
        command += [
            "--nnodes", str(nnodes), "--rdzv-backend", "c10d",
            "--rdzv-endpoint", rdzv_endpoint, "--rdzv-id", rdzv_id,
        ]  # fmt: skip
        if node_rank is not None:
            command += ["--node-rank", str(node_rank)]
    command += ["--max-restarts", "0", "--nproc-per-node", str(nproc)]
    return [*command, "-m", module, *args]


@dataclass(frozen=True)
class LaunchResult:
    """How a torchrun launch ended; ``message`` is empty when every process succeeded."""

    returncode: int
    message: str
    output: str
    rank: int | None = None
    exitcode: int | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def check(self) -> None:
        """Raise the failure as an InputError (the message the user sees)."""
        if not self.ok:
            raise InputError(self.message)


# torchrun's failure summary: "rank      : 1 (local_rank: 1)" then "exitcode  : 9 (pid: ...)",
# the first observed failure under "Root Cause" (the others were stopped because of it).
_FAILURE = re.compile(r"rank\s*:\s*(\d+)\s*\(local_rank:\s*\d+\)\s*\n\s*exitcode\s*:\s*(-?\d+)")
_ROOT_CAUSE = "Root Cause"
# A worker's own error, the last line of its traceback, which torch prefixes with its rank.
_ERROR_LINE = re.compile(r"^(?:\[rank(\d+)\]:)?\s*\S*(?:InputError|RunFailed|Error): (.+)$")
TAIL_LINES = 400


def run_torchrun(
    command: Sequence[str],
    *,
    cwd: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    echo: Callable[[str], None] | None = None,
) -> LaunchResult:
    """Run a torchrun ``command`` to the end, passing each output line to ``echo``.

    A failure names the first failed rank and how it ended (its exit code, or the signal that
    killed it) and, when the process reported one, its own error message.
    """
    lines: deque[str] = deque(maxlen=TAIL_LINES)
    with subprocess.Popen(
        list(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, encoding="utf-8", errors="replace",
    ) as process:  # fmt: skip
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if echo is not None:
                echo(line.rstrip("\n"))
        returncode = process.wait()
    output = "".join(lines)
    if returncode == 0:
        return LaunchResult(0, "", output)
    return _failure(returncode, output)


def _failure(returncode: int, output: str) -> LaunchResult:
    root = output.rfind(_ROOT_CAUSE)
    match = _FAILURE.search(output, root if root >= 0 else 0) or _FAILURE.search(output)
    rank, exitcode = (int(match[1]), int(match[2])) if match else (None, None)
    who = f"training process rank {rank}" if rank is not None else "distributed training"
    if exitcode is not None and exitcode < 0:
        how = f"was killed by signal {-exitcode}"
    else:
        how = f"exited with code {exitcode if exitcode is not None else returncode}"
    reported = [
        m[2]
        for line in output.splitlines()
        if (m := _ERROR_LINE.match(line.strip()))
        and (rank is None or m[1] is None or int(m[1]) == rank)
    ]
    detail = f": {reported[-1]}" if reported else ""
    message = f"{who} {how}{detail}; torchrun stopped the other processes"
    return LaunchResult(returncode, message, output, rank, exitcode)
