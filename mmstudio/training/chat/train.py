"""Training digits-chat: teacher-forced cross-entropy on the answer tokens, as a generator.

Like trainer.py, the loop yields :class:`ChatEvent` objects instead of printing, so a command
line or a window can show progress from the same code. Batches are a pure function of (seed,
step) and the learning rate of the step, so a resumed run continues exactly where it stopped:
the checkpoint holds the weights, the optimizer's moments and the step, nothing else.

The run folder holds ``checkpoint/`` (a Hugging Face folder plus ``optimizer.safetensors`` and
``state.json``), replaced as a whole each time it is written (built beside it, then renamed),
and ``model/``, the final folder ``registry.get_model`` opens, written the same way at the end.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from mmstudio.inputs.errors import InputError
from mmstudio.training.chat.architecture import encoder_of
from mmstudio.training.chat.batches import IGNORE, Encoder, collate
from mmstudio.training.chat.data import ChatRecord

CHECKPOINT = "checkpoint"
MODEL = "model"
STATE_JSON = "state.json"
OPTIMIZER = "optimizer.safetensors"
GRAD_CLIP = 1.0


@dataclass(frozen=True)
class ChatTrainSettings:
    steps: int = 2000
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    final_lr_fraction: float = 0.05
    seed: int = 0
    checkpoint_every: int = 100
    log_every: int = 10
    threads: int = 1
    max_seconds: float | None = None  # stop early (with a checkpoint) after this much time
    encoder_lr_scale: float = 1.0  # the vision tower's and audio encoder's share of ``lr``


@dataclass
class ChatEvent:
    """``kind`` is "start", "bank" (the feature bank is built), "step", "checkpoint" or
    "done"; ``loss`` is the mean over the steps since the last "step" event."""

    kind: str
    step: int = 0
    total_steps: int = 0
    loss: float | None = None
    lr: float | None = None
    seconds: float = 0.0
    message: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


def learning_rate(step: int, settings: ChatTrainSettings) -> float:
    """Linear warm-up, then cosine decay to a floor; a pure function of the step."""
    total, base = settings.steps, settings.lr
    warmup = max(1, int(total * settings.warmup_fraction))
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    floor = base * settings.final_lr_fraction
    return floor + (base - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def batch_indices(step: int, count: int, settings: ChatTrainSettings) -> np.ndarray:
    """The records of a step: a pure function of (seed, step), so resuming repeats nothing."""
    rng = np.random.default_rng([settings.seed, 7, step])
    return rng.choice(count, size=min(settings.batch_size, count), replace=False)


def answer_loss(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of the answer tokens given everything before them."""
    labels = batch["labels"]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs, use_cache=False).logits
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(), ignore_index=IGNORE
    )


def make_optimizer(model: Any, settings: ChatTrainSettings) -> torch.optim.AdamW:
    """AdamW in four groups: (decoder, encoders) x (decayed, not). Norms and biases are not
    decayed: pulling them to zero only fights what they represent. Each group's ``scale``
    multiplies the scheduled learning rate (pretrained encoders move more slowly)."""
    groups: dict[tuple[bool, bool], list] = {}
    for name, parameter in model.named_parameters():
        key = (encoder_of(name) is not None, parameter.ndim >= 2)
        groups.setdefault(key, []).append(parameter)
    return torch.optim.AdamW(
        [
            {
                "params": params,
                "weight_decay": settings.weight_decay if decayed else 0.0,
                "scale": settings.encoder_lr_scale if encoder else 1.0,
            }
            for (encoder, decayed), params in sorted(groups.items())
        ],
        lr=settings.lr,
        betas=(0.9, 0.98),
    )


def train_chat(
    out_dir: str | Path,
    records: Sequence[ChatRecord],
    settings: ChatTrainSettings = ChatTrainSettings(),
    *,
    parts: Any = None,
    resume: bool = True,
    bank: Callable[[Any, Any], Any] | None = None,
) -> Iterator[ChatEvent]:
    """Train on ``records`` into ``out_dir``, yielding progress. ``parts`` is a
    ``DigitsChatParts`` to start from (a fresh digits-chat model when None); a checkpoint in
    ``out_dir`` is continued when ``resume``. Ends with the model folder ``out_dir/model``.

    With ``bank`` (called with the model and processor, it returns a built ``FeatureBank``),
    the encoders are frozen and each step reads their banked tokens instead of running them."""
    if not records:
        raise InputError("no question/answer records to train on")
    torch.set_num_threads(settings.threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model, processor, step, optimizer = _start(out, settings, parts, resume)
    encoder = Encoder(processor)
    examples: dict[int, Any] = {}
    started = time.perf_counter()
    yield ChatEvent("start", step, settings.steps, message=_describe(model, len(records), step))
    features = None
    if bank is not None and step < settings.steps:
        for name, parameter in model.named_parameters():
            if encoder_of(name) is not None:
                parameter.requires_grad_(False)
        features = bank(model, processor)
        yield ChatEvent("bank", step, settings.steps, seconds=time.perf_counter() - started)
    model.train()
    losses: list[float] = []
    while step < settings.steps:
        rows = batch_indices(step, len(records), settings)
        if features is not None:
            rng = np.random.default_rng([settings.seed, 17, step])
            batch = features.batch([records[int(r)] for r in rows], rng)
        else:
            for row in rows:
                if int(row) not in examples:
                    examples[int(row)] = encoder.example(records[int(row)])
            batch = collate([examples[int(r)] for r in rows], encoder.pad_id)
        lr = learning_rate(step, settings)
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("scale", 1.0)
        loss = answer_loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
        losses.append(float(loss.detach()))
        step += 1
        elapsed = time.perf_counter() - started
        if step % settings.log_every == 0 or step == settings.steps:
            yield ChatEvent("step", step, settings.steps, float(np.mean(losses)), lr, elapsed)
            losses = []
        out_of_time = settings.max_seconds is not None and elapsed >= settings.max_seconds
        if step % settings.checkpoint_every == 0 or step == settings.steps or out_of_time:
            save_checkpoint(out / CHECKPOINT, model, processor, optimizer, step, settings)
            yield ChatEvent("checkpoint", step, settings.steps, seconds=elapsed)
        if out_of_time:
            break
    model.eval()
    replace_folder(out / MODEL, lambda folder: _save_pretrained(model, processor, folder))
    yield ChatEvent(
        "done",
        step,
        settings.steps,
        seconds=time.perf_counter() - started,
        message=f"wrote {out / MODEL}" + ("" if step >= settings.steps else " (stopped early)"),
    )


def _describe(model: Any, records: int, step: int) -> str:
    parameters = sum(p.numel() for p in model.parameters())
    start = f"resuming at step {step}" if step else "starting"
    return f"{start}: {parameters:,} parameters, {records} records"


def _start(out: Path, settings: ChatTrainSettings, parts: Any, resume: bool):
    checkpoint = out / CHECKPOINT
    if resume and (checkpoint / STATE_JSON).is_file():
        return load_checkpoint(checkpoint, settings)
    if parts is None:
        from mmstudio.training.chat.architecture import build_digits_chat

        parts = build_digits_chat(seed=settings.seed)
    optimizer = make_optimizer(parts.model, settings)
    return parts.model, parts.processor, 0, optimizer


def _save_pretrained(model: Any, processor: Any, folder: Path) -> None:
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


def save_checkpoint(
    folder: Path, model: Any, processor: Any, optimizer, step: int, settings: ChatTrainSettings
) -> None:
    """Write the checkpoint as a whole: built beside ``folder`` and renamed into place."""

    def write(target: Path) -> None:
        _save_pretrained(model, processor, target)
        state = optimizer.state_dict()
        save_moments(state, target / OPTIMIZER)
        groups = [{k: v for k, v in g.items() if k != "params"} for g in state["param_groups"]]
        info = {"step": step, "settings": asdict(settings), "param_groups": groups}
        (target / STATE_JSON).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")

    replace_folder(folder, write)


def save_moments(state: dict[str, Any], path: Path) -> None:
    """An optimizer state's per-parameter tensors (its moments, its step counts) as one
    safetensors file, keyed "<parameter index>/<name>"."""
    tensors = {
        f"{index}/{key}": torch.as_tensor(value).detach().contiguous().cpu()
        for index, entry in state["state"].items()
        for key, value in entry.items()
    }
    save_file(tensors, str(path))


def load_moments(path: Path) -> dict[int, dict[str, torch.Tensor]]:
    """The ``state`` part of an optimizer state dict, as :func:`save_moments` wrote it."""
    moments: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in load_file(str(path)).items():
        index, name = key.split("/", 1)
        moments.setdefault(int(index), {})[name] = value
    return moments


def load_checkpoint(folder: Path, settings: ChatTrainSettings):
    """(model in train mode, processor, step, optimizer) of a checkpoint folder."""
    from transformers import AutoProcessor, Qwen2_5OmniThinkerForConditionalGeneration

    try:
        info = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
        step = int(info["step"])
        model = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(
            str(folder), local_files_only=True, dtype=torch.float32
        )
        processor = AutoProcessor.from_pretrained(str(folder), local_files_only=True)
        optimizer = make_optimizer(model, settings)
        saved = optimizer.state_dict()
        per_param = load_moments(folder / OPTIMIZER)
        groups = [
            {**group, **{k: v for k, v in kept.items() if k != "params"}}
            for group, kept in zip(saved["param_groups"], info["param_groups"], strict=True)
        ]
        optimizer.load_state_dict({"state": per_param, "param_groups": groups})
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise InputError(f"the checkpoint cannot be resumed ({error})", folder) from error
    return model, processor, step, optimizer


def replace_folder(folder: Path, write) -> None:
    """Write into ``<folder>.partial``, then swap it in: ``folder`` is never half-written."""
    partial = folder.with_name(folder.name + ".partial")
    old = folder.with_name(folder.name + ".old")
    for leftover in (partial, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    partial.mkdir(parents=True)
    write(partial)
    if folder.exists():
        folder.rename(old)
    partial.rename(folder)
    if old.exists():
        shutil.rmtree(old)
