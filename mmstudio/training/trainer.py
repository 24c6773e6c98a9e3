"""Training a FusionNet on a manifest: a generator of progress events.

The loop yields :class:`TrainEvent` objects instead of printing, so the command line can draw
a progress bar and the window a progress dialog from the same code. After every epoch the
trainer writes a resumable state (safetensors for tensors, JSON for the rest; never pickle).
When training ends, the best epoch's weights are restored, the softmax temperature is fitted
on the validation set, and the checkpoint folder is written. All of it happens in a partial
folder beside the output folder, which replaces it only once the run completed (see
:mod:`mmstudio.training.run_folder`): a failed run says so and leaves the output folder as it was.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from mmstudio.inputs.errors import InputError
from mmstudio.models.checkpoint import save_checkpoint
from mmstudio.models.config import ConfigError, FusionConfig
from mmstudio.models.device import describe_device, pick_device
from mmstudio.models.fusionnet import FusionNet, training_coalitions
from mmstudio.models.validation import check_size, meta_network
from mmstudio.training.data import (
    SPREAD,
    Augmentation,
    Collate,
    CorruptionMix,
    MediaCache,
    RecordDataset,
    make_loader,
    split_records,
    stable_seed,
)
from mmstudio.training.distributed import (
    SINGLE,
    DistributedContext,
    RankSlices,
    all_sum,
    any_rank,
    barrier,
    data_parallel,
    globalize_batch_norm,
)
from mmstudio.training.evaluate import (
    ALL_INPUTS,
    SUBSETS,
    collect_logits,
    expected_calibration_error,
    mean_or_none,
    subset_accuracy,
    subset_validity,
)
from mmstudio.training.manifest import Manifest, read_manifest
from mmstudio.training.run_folder import ReadOnlyRunFolder, RunFolder

STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "trainer_state.json"
LABEL_SMOOTHING = 0.05
WEIGHT_DECAY = 0.02
WARMUP_FRACTION = 0.06
FINAL_LR_FRACTION = 0.02
GRAD_CLIP = 2.0
OBJECTIVE = (
    "label-smoothed cross-entropy on the modality-dropout coalition and on each modality alone"
)
# Validation mixes every corruption level, so early stopping rewards robustness and not only
# clean accuracy, which saturates within a few epochs on easy data. The score that picks the
# best epoch averages all seven modality subsets: every subset is a way the app is used, and
# 7 x the validation records make the score steadier than the full subset alone.
VAL_LEVEL = SPREAD


@dataclass
class TrainEvent:
    """One progress report. ``kind`` is "start", "step", "epoch" or "done".

    ``step``/``total_steps`` count optimiser steps over the whole run; ``loss`` and
    ``accuracy`` are running training averages within the current epoch. A step event also
    carries that step's own ``batch_loss`` and ``lr``; ``wall_seconds`` is the run's training
    and validation time so far (resumed runs included), the x axis of a curve over time. An
    epoch event's ``metrics`` is one evaluation line of a comparison's metrics.jsonl.
    """

    kind: str
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    total_steps: int = 0
    loss: float | None = None
    accuracy: float | None = None
    val_accuracy: float | None = None
    message: str = ""
    metrics: dict[str, Any] | None = None
    batch_loss: float | None = None
    lr: float | None = None
    wall_seconds: float | None = None


@dataclass
class TrainerState:
    """Everything besides tensors that a resumed run needs."""

    fusion: str
    seed: int
    batch_size: int
    lr: float
    epoch: int = 0  # epochs completed
    step: int = 0
    best_score: float = -1.0
    best_epoch: int = 0
    bad_epochs: int = 0
    stopped_early: bool = False
    # Asked to stop (stop_requested) before the planned epochs; unlike early stopping, a resumed
    # run goes on where it was stopped.
    stopped: bool = False
    train_seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    mix: dict[str, Any] = field(default_factory=dict)
    augmentation: dict[str, Any] = field(default_factory=dict)
    optimizer_groups: list[dict[str, Any]] = field(default_factory=list)
    # Randomness is re-derived from (seed, epoch) at every epoch rather than carried over,
    # so a resumed run draws exactly what an uninterrupted one would have.
    rng: dict[str, Any] = field(default_factory=lambda: {"scheme": "reseeded per epoch from seed"})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainerState:
        """Raises TypeError naming the field whose value has the wrong JSON type."""
        known = {f.name: f.type for f in fields(cls)}
        kept = {k: v for k, v in data.items() if k in known}
        for name, value in kept.items():
            kind = _JSON_TYPES[known[name].split("[")[0]]
            if isinstance(value, bool) is not (kind is bool) or not isinstance(value, kind):
                raise TypeError(f"'{name}' is {value!r}")
        return cls(**kept)


# The JSON types a field's annotation stands for; a float field may hold a JSON integer.
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str, "int": int, "float": (int, float), "bool": bool, "list": list, "dict": dict,
}  # fmt: skip


@dataclass
class _Run:
    """What one training run works with; built once, then threaded through the helpers."""

    manifest: Manifest
    model: FusionNet
    optimizer: torch.optim.Optimizer
    state: TrainerState
    train_set: RecordDataset
    val_set: RecordDataset
    device: torch.device
    folder: RunFolder
    epochs: int
    patience: int
    best_weights: dict[str, torch.Tensor]
    # model.training_logits; under a process group, through DistributedDataParallel.
    training_logits: Callable[..., tuple[torch.Tensor, torch.Tensor]]
    context: DistributedContext = SINGLE
    stop_requested: Callable[[], bool] | None = None
    # Set when stop_requested answered yes in the middle of an epoch: that epoch is dropped.
    stopping: bool = False
    # When the current epoch's training began (perf_counter), for wall_seconds.
    epoch_started: float = 0.0

    @property
    def out_dir(self) -> Path:
        """Where the run writes until it completes."""
        return self.folder.work


class RunFailed(InputError):
    """A run that stopped before completing; the message says what became of its folder."""


@dataclass
class TrainSettings:
    """The arguments of :func:`train`; a resumed run takes most of them from its saved state."""

    fusion: str
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    device: str | torch.device | None = "auto"
    seed: int = 0
    patience: int = 4
    resume: bool = False
    config_overrides: dict[str, Any] = field(default_factory=dict)
    mix: CorruptionMix = field(default_factory=CorruptionMix)
    augmentation: Augmentation = field(default_factory=Augmentation)


def train(
    manifest_dir: str | Path,
    *,
    fusion: str,
    out_dir: str | Path,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 2e-3,
    device: str | torch.device | None = "auto",
    seed: int = 0,
    patience: int = 4,
    resume: bool = False,
    config_overrides: dict[str, Any] | None = None,
    mix: CorruptionMix | None = None,
    augmentation: Augmentation | None = None,
    context: DistributedContext | None = None,
    stop_requested: Callable[[], bool] | None = None,
) -> Iterator[TrainEvent]:
    """Train ``fusion`` on the manifest's train split, yielding progress; the checkpoint
    (with a fitted temperature) ends up in ``out_dir``. See the module docstring.

    With ``resume`` the run saved in ``out_dir`` continues up to ``epochs`` with its saved
    model settings, seed, batch size, learning rate, corruption mix and augmentation.

    With a distributed ``context`` (torchrun, see :mod:`mmstudio.training.distributed`) every
    process trains on its slice of each global batch of ``batch_size`` through
    DistributedDataParallel, so the run equals a single-process one; only rank 0 writes the
    run folder.

    ``stop_requested`` is asked after every optimiser step; when it answers yes the run ends
    like an early stop: the unfinished epoch is dropped and the best completed epoch's weights
    are saved as the checkpoint (metrics say "stopped"). Asked before any epoch completed, the
    run fails with :class:`RunFailed`, as there is nothing to save.
    """
    settings = TrainSettings(
        fusion, epochs, batch_size, lr, device, seed, patience, resume,
        config_overrides or {}, mix or CorruptionMix(), augmentation or Augmentation(),
    )  # fmt: skip
    run = _setup(Path(manifest_dir), Path(out_dir), settings, context or SINGLE)
    run.stop_requested = stop_requested
    run.state.stopped = False  # a resumed run that was stopped goes on
    first_epoch, stage = run.state.epoch, "training"
    try:
        yield _start_event(run)
        while run.state.epoch < epochs and not run.state.stopped_early:
            stage = f"epoch {run.state.epoch + 1}"
            yield from _train_epoch(run)
            if run.stopping:
                _check_stoppable(run)
                break
            yield _end_epoch(run)
        stage = "saving the checkpoint"
        done = _finish(run) if run.context.is_main else _done_elsewhere(run)
        run.folder.commit()
        barrier(run.context)  # the others return once the checkpoint is in place
    except (InputError, OSError, MemoryError, torch.OutOfMemoryError) as error:
        raise RunFailed(
            f"training failed in {stage}: {_failure(error)}; "
            f"{run.folder.abandon(run.state.epoch > first_epoch)}"
        ) from error
    except BaseException:  # Ctrl-C, or the consumer stopped iterating: keep completed epochs
        run.folder.abandon(run.state.epoch > first_epoch)
        raise
    yield done


def _check_stoppable(run: _Run) -> None:
    """A stop before the first completed epoch leaves no weights worth a checkpoint."""
    run.state.stopped = True
    if run.state.epoch == 0:
        raise InputError(
            f"stopped at step {run.state.step}, before the first epoch completed: nothing was saved"
        )


def _failure(error: BaseException) -> str:
    if isinstance(error, InputError):
        return str(error)
    if isinstance(error, OSError):
        return f"cannot write {error.filename or 'the run folder'} ({error.strerror or error})"
    return f"out of memory ({error or 'no details'}); try a smaller --batch-size"


# ---------------------------------------------------------------------------------- setting up


def _setup(
    manifest_dir: Path, out_dir: Path, settings: TrainSettings, context: DistributedContext
) -> _Run:
    """Settings, data and model are checked here; a run refused here leaves no folder behind."""
    _check_settings(settings, context)
    manifest = read_manifest(manifest_dir)
    device = settings.device
    device = device if isinstance(device, torch.device) else pick_device(device)
    device = context.device if context.distributed else device
    folder = _run_folder(out_dir, settings.resume, context)
    try:
        state = _initial_state(manifest, folder, settings)
        model, optimizer, best = _build_model(state, device, folder.work, context)
        train_set, val_set = _datasets(manifest, state, model, folder.work / STATE_JSON)
        _check_last_batch(len(train_set), state.batch_size, context)
        # Last, once every rank has passed the checks: it waits for all of them.
        training_logits = data_parallel(model, "training_logits", context)
    except BaseException:
        folder.abandon(progressed=False)
        raise
    return _Run(
        manifest=manifest, model=model, optimizer=optimizer, state=state, train_set=train_set,
        val_set=val_set, device=device, folder=folder, epochs=settings.epochs,
        patience=settings.patience, best_weights=best, context=context,
        training_logits=training_logits,
    )  # fmt: skip


def _run_folder(out_dir: Path, resume: bool, context: DistributedContext):
    """Rank 0 prepares the run folder; the other ranks wait for it and only read it."""
    folder = RunFolder(out_dir, resume, _has_state) if context.is_main else None
    barrier(context)
    return folder or ReadOnlyRunFolder(out_dir, resume, _has_state)


def _check_settings(settings: TrainSettings, context: DistributedContext = SINGLE) -> None:
    counts = {"--epochs": settings.epochs, "--batch-size": settings.batch_size}
    for option, value in {**counts, "--patience": settings.patience}.items():
        if value < 1:
            raise InputError(f"{option} must be at least 1, not {value}")
    if not (math.isfinite(settings.lr) and settings.lr > 0):
        raise InputError(f"--lr, the learning rate, must be a positive number, not {settings.lr}")
    if settings.batch_size % context.world_size:
        raise InputError(
            f"--batch-size {settings.batch_size} does not divide among {context.world_size} "
            f"processes; give a multiple of {context.world_size}"
        )


def _check_last_batch(records: int, batch_size: int, context: DistributedContext) -> None:
    """Every process needs at least one record of every batch, the last one included."""
    last = records % batch_size
    if 0 < last < context.world_size:
        raise InputError(
            f"the last batch of each epoch holds {last} of the {records} training records, "
            f"too few for {context.world_size} processes; choose a --batch-size that leaves "
            f"at least {context.world_size} (or none) over"
        )


def _initial_state(manifest: Manifest, folder: RunFolder, settings: TrainSettings) -> TrainerState:
    state = _load_state(folder.work) if folder.resumed_from else None
    if state is None:
        state = TrainerState(
            fusion=settings.fusion, seed=settings.seed, batch_size=settings.batch_size,
            lr=settings.lr, mix=asdict(settings.mix), augmentation=asdict(settings.augmentation),
        )  # fmt: skip
        state.config = _make_config(manifest, settings.fusion, settings.config_overrides).to_dict()
    elif state.fusion != settings.fusion:
        raise InputError(
            f"the saved run in this folder trains '{state.fusion}' fusion, not '{settings.fusion}'",
            folder.resumed_from,
        )
    return state


def _build_model(
    state: TrainerState, device: torch.device, out_dir: Path, context: DistributedContext = SINGLE
):
    """The model, its optimiser and the best weights so far, restored when resuming."""
    torch.manual_seed(state.seed)
    model = FusionNet(_checked_config(state.config, out_dir / STATE_JSON))
    if context.distributed:
        globalize_batch_norm(model)
    if device.type == "cpu":
        # Channels-last convolutions are about a third faster on CPUs for these small CNNs.
        model = model.to(memory_format=torch.channels_last)
    model.to(device)
    optimizer = _make_optimizer(model, state.lr)
    if state.epoch > 0:
        best = _restore_tensors(out_dir, model, optimizer, state)
    else:
        best = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return model, optimizer, best


def _datasets(manifest: Manifest, state: TrainerState, model: FusionNet, state_path: Path):
    cache = MediaCache(model.config.audio_sample_rate)
    mix, augmentation = _saved_recipe(state, state_path)
    train_records = _records(manifest, "train", state.seed)
    val_records = _records(manifest, "val", state.seed)
    train_set = RecordDataset(
        train_records, manifest.labels, mix=mix, augmentation=augmentation, seed=state.seed,
        cache=cache,
    )  # fmt: skip
    val_set = RecordDataset(
        val_records, manifest.labels, level=VAL_LEVEL, seed=state.seed, cache=cache
    )
    return train_set, val_set


def _saved_recipe(state: TrainerState, source: Path) -> tuple[CorruptionMix, Augmentation]:
    """The corruption mix and augmentation stored in the state (JSON turns tuples into lists)."""
    mix = {k: tuple(v) if isinstance(v, list) else v for k, v in state.mix.items()}
    augmentation = {
        k: tuple(v) if isinstance(v, list) else v for k, v in state.augmentation.items()
    }
    try:
        return CorruptionMix(**mix), Augmentation(**augmentation)
    except (TypeError, ValueError) as error:
        raise InputError(
            f"the saved corruption mix or augmentation is wrong ({error})", source
        ) from error


def _records(manifest: Manifest, split: str, seed: int):
    records = split_records(manifest, split, seed)
    if not records:
        raise InputError(f"the dataset has no '{split}' records to train with", manifest.root)
    return records


def check_model_settings(manifest: Manifest, fusion: str, overrides: dict[str, Any]) -> None:
    """Refuse model settings a run of ``fusion`` on ``manifest`` would refuse, before any run."""
    _make_config(manifest, fusion, overrides)


def _make_config(manifest: Manifest, fusion: str, overrides: dict[str, Any]) -> FusionConfig:
    known = {f.name for f in fields(FusionConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise InputError(f"unknown model settings: {', '.join(unknown)}")
    settings = {
        "name": f"{manifest.root.name}-{fusion}",
        "description": f"{fusion} fusion trained on {manifest.root.name} by mmstudio train",
        **overrides,
        "labels": list(manifest.labels),
        "fusion": fusion,
    }
    return _checked_config(settings, "model settings (--set)")


def _checked_config(settings: dict[str, Any], source) -> FusionConfig:
    """A config whose fields and network size are valid, before the network is allocated."""
    try:
        config = FusionConfig.from_dict(settings)
    except ConfigError as error:
        raise InputError(error.reason, source) from error
    check_size(config, meta_network(config, source), source)
    return config


def _make_optimizer(model: FusionNet, lr: float) -> torch.optim.AdamW:
    # Norms, biases, positions and the learned absent/query vectors are not decayed: pulling
    # them towards zero only fights what they have to represent.
    decay, plain = [], []
    for name, parameter in model.named_parameters():
        (decay if parameter.ndim >= 2 and "position" not in name else plain).append(parameter)
    groups = [
        {"params": decay, "weight_decay": WEIGHT_DECAY},
        {"params": plain, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr)


def learning_rate(step: int, total: int, base: float) -> float:
    """Linear warm-up, then cosine decay to a small floor. A pure function of the step, so
    resuming needs no scheduler state."""
    warmup = max(1, int(total * WARMUP_FRACTION))
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    floor = base * FINAL_LR_FRACTION
    return floor + (base - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


# ------------------------------------------------------------------------------------ the loop


def _start_event(run: _Run) -> TrainEvent:
    steps = _steps_per_epoch(run)
    device = describe_device(run.device)
    verb = f"resuming after epoch {run.state.epoch}" if run.state.epoch else "training"
    message = (
        f"{verb}: {run.state.fusion} fusion, {run.model.parameter_count():,} parameters, "
        f"{len(run.train_set)} train / {len(run.val_set)} val records, on {device}"
    )
    return TrainEvent(
        "start", run.state.epoch, run.epochs, run.state.step, steps * run.epochs, message=message
    )


def _steps_per_epoch(run: _Run) -> int:
    return math.ceil(len(run.train_set) / run.state.batch_size)


def _train_loader(run: _Run):
    """The seeded shuffled loader; a distributed rank draws the same global batches and
    loads only its slice of each."""
    loader = make_loader(
        run.train_set, run.model, run.state.batch_size, shuffle=True, seed=run.state.seed
    )
    if not run.context.distributed:
        return loader
    # The loader draws from its generator first (a base seed), then shuffles with it: the
    # same generator in the same order gives the same permutation as the loader above.
    return torch.utils.data.DataLoader(
        run.train_set,
        batch_sampler=RankSlices(loader.batch_sampler, run.context),
        generator=loader.generator,
        collate_fn=Collate(run.model),
        num_workers=0,
    )


def modality_keep(
    seed: int, step: int, count: int, modalities: int, rate: float,
    context: DistributedContext = SINGLE,
) -> torch.Tensor:  # fmt: skip
    """Which modalities modality dropout keeps, (rows of this rank, modalities), at ``step``
    of a global batch of ``count``: drawn from its own generator seeded by (seed, step), so
    every fusion strategy sees the same schedule whatever else draws random numbers, and
    the ranks' slices concatenate to the single-process masks."""
    generator = torch.Generator().manual_seed(stable_seed("modality dropout", seed, step))
    keep = torch.rand((count, modalities), generator=generator) >= rate
    return keep[context.slice_of(count)]


def _train_epoch(run: _Run) -> Iterator[TrainEvent]:
    state, model = run.state, run.model
    epoch = state.epoch + 1
    total = _steps_per_epoch(run) * run.epochs
    run.train_set.set_epoch(epoch)
    torch.manual_seed(state.seed * 1000 + epoch)  # dropout layers and audio augmentation
    loader = _train_loader(run)
    model.train()
    started = run.epoch_started = time.perf_counter()
    loss_sum = correct = seen = 0.0
    for batch, labels, allowed in loader:
        lr = learning_rate(state.step, total, state.lr)
        if allowed is not None:
            allowed = allowed.to(run.device)
        loss, hits, count = _step(run, batch.to(run.device), labels.to(run.device), lr, allowed)
        state.step += 1
        loss_sum += loss * count
        correct += hits
        seen += count
        yield TrainEvent(
            "step", epoch, run.epochs, state.step, total, loss_sum / seen, correct / seen,
            batch_loss=loss, lr=lr, wall_seconds=_wall_seconds(run, time.perf_counter()),
        )  # fmt: skip
        if _stop_asked(run):
            run.stopping = True
            return  # the unfinished epoch is neither timed nor kept in the history
    state.train_seconds += time.perf_counter() - started
    state.history.append({"epoch": epoch, "loss": loss_sum / seen, "accuracy": correct / seen})


def _stop_asked(run: _Run) -> bool:
    """Whether the run stops after this step; every rank of a distributed run asks the others,
    so they all stop at the same step (one rank may see a STOP file before another)."""
    asked = run.stop_requested is not None and bool(run.stop_requested())
    return any_rank(asked, run.context) if run.context.distributed else asked


def _wall_seconds(run: _Run, now: float | None = None) -> float:
    """Training and validation seconds of the run so far, the current epoch included."""
    state = run.state
    validation = sum(entry.get("val_seconds", 0.0) for entry in state.history)
    current = 0.0 if now is None else now - run.epoch_started
    return round(state.train_seconds + validation + current, 3)


def _step(
    run: _Run, batch, labels: torch.Tensor, lr: float, allowed: torch.Tensor | None = None
) -> tuple[float, int, int]:
    """One optimiser step on a global batch (this rank's slice of it when distributed):
    the mean loss, the hits and the number of samples of the global batch."""
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    context, model = run.context, run.model
    count = int(all_sum([len(labels)], context)[0])  # the global batch's size
    keep = modality_keep(
        run.state.seed, run.state.step, count, len(model.modalities),
        model.config.modality_dropout, context,
    ).to(run.device)  # fmt: skip
    # Every sample counts under modality dropout and under each of its modalities alone.
    logits, valid = run.training_logits(batch, keep=keep)
    targets = (
        labels.unsqueeze(1).expand_as(valid)
        if allowed is None
        else coalition_targets(allowed, training_coalitions(batch.present, keep), labels)
    )
    hits = int((logits[:, 0].argmax(-1) == labels).sum())
    if context.distributed:
        # The mean over the global batch's valid entries: each rank's sum over the global
        # count, times the number of ranks, as DistributedDataParallel averages the ranks'
        # gradients; the average is then the single-process gradient.
        total = F.cross_entropy(
            logits[valid], targets[valid], label_smoothing=LABEL_SMOOTHING, reduction="sum"
        )
        summed, entries, hits = all_sum([total.detach(), valid.sum(), hits], context)
        loss, value = total * (context.world_size / entries), summed / entries
    else:
        loss = F.cross_entropy(logits[valid], targets[valid], label_smoothing=LABEL_SMOOTHING)
        value = float(loss.detach())
    if not math.isfinite(value):
        raise InputError(
            f"the loss became {value} at step {run.state.step + 1}: training diverged; "
            "try a lower --lr"
        )
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
    run.optimizer.step()
    return value, int(hits), count


def coalition_targets(
    allowed: torch.Tensor, seen: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Target distributions (B, 1 + M, C) for training_logits' columns: each column is
    uniform over the labels that every modality it sees allows.

    ``allowed`` (B, M, C) is Collate's; ``seen`` (B, 1 + M, M) the columns' coalitions
    (training_coalitions). Text that says "three or eight" alone gets half of each; beside an
    image of a three, only the three. Modalities that contradict each other fall back to the
    label.
    """
    # A label survives where every modality in the column allows it; unseen ones allow all.
    both = (allowed.unsqueeze(1) | ~seen.unsqueeze(-1)).all(2)  # (B, 1+M, C)
    fallback = F.one_hot(labels, allowed.shape[-1]).bool().unsqueeze(1).expand_as(both)
    both = torch.where(both.any(-1, keepdim=True), both, fallback)
    return both.float() / both.sum(-1, keepdim=True)


def _end_epoch(run: _Run) -> TrainEvent:
    state = run.state
    state.epoch += 1
    started = time.perf_counter()
    validation = _validate(run)
    state.history[-1].update(validation, val_seconds=round(time.perf_counter() - started, 1))
    value = validation["val_accuracy"]
    if validation["val_score"] > state.best_score:
        state.best_score, state.best_epoch, state.bad_epochs = (
            validation["val_score"],
            state.epoch,
            0,
        )
        run.best_weights = {k: v.detach().cpu().clone() for k, v in run.model.state_dict().items()}
    else:
        state.bad_epochs += 1
        state.stopped_early = state.bad_epochs >= run.patience
    if run.context.is_main:
        _save_state(run)
    history = state.history[-1]
    message = (
        f"epoch {state.epoch}/{run.epochs}: loss {history['loss']:.4f}, "
        f"train acc {history['accuracy']:.2%}, val acc {_percent(value)} "
        f"(clean {_percent(validation['val_accuracy_clean'])}, "
        f"all subsets {validation['val_score']:.2%})"
    )
    if state.stopped_early:
        message += f"; stopping early, no improvement for {run.patience} epochs"
    total = _steps_per_epoch(run) * run.epochs
    return TrainEvent(
        "epoch", state.epoch, run.epochs, state.step, total, history["loss"],
        history["accuracy"], value, message, _eval_line(run, history, validation, total),
    )  # fmt: skip


def _eval_line(
    run: _Run, history: dict[str, Any], validation: dict[str, Any], total: int
) -> dict[str, Any]:
    """The epoch's evaluation as a comparison's metrics.jsonl line ("kind": "eval")."""
    return {
        "kind": "eval",
        "step": run.state.step,
        "epoch": run.state.epoch,
        "train_loss": history["loss"],
        "train_accuracy": history["accuracy"],
        "val_accuracy": validation["val_accuracy"],
        "val_accuracy_clean": validation["val_accuracy_clean"],
        "val_score": validation["val_score"],
        "val_subsets": dict(validation["val_subsets"]),
        # The rate of the epoch's last step.
        "lr": learning_rate(max(0, run.state.step - 1), total, run.state.lr),
        "wall_seconds": _wall_seconds(run),
    }


def _validate(run: _Run) -> dict[str, Any]:
    """Validation accuracies; ``val_accuracy`` reads each record with every input it has, so a
    dataset without one modality (image and text only, say) is scored like any other."""
    logits, labels, present = _val_logits(run)
    accuracy = subset_accuracy(logits, labels, present)
    hits = logits[:, ALL_INPUTS].argmax(-1) == labels
    clean = _clean_mask(run)
    scored = [value for value in accuracy.values() if value is not None]
    return {
        "val_score": sum(scored) / len(scored),
        "val_accuracy": mean_or_none(hits),
        "val_accuracy_clean": mean_or_none(hits[clean]),
        "val_subsets": {name: accuracy[name] for name in SUBSETS},
    }


def _val_logits(run: _Run):
    loader = make_loader(run.val_set, run.model, 128, shuffle=False)
    return collect_logits(run.model, loader, run.device)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _clean_mask(run: _Run) -> torch.Tensor:
    """Which validation records were drawn at level 0 under the spread of levels."""
    return torch.tensor([run.val_set.level_of(r) == 0 for r in run.val_set.records])


# ------------------------------------------------------------------------------------- the end


def _finish(run: _Run) -> TrainEvent:
    model, state = run.model, run.state
    model.load_state_dict(run.best_weights)
    best = _best_history(state)
    calibration = _calibrate(run)
    metrics = {
        "fusion": state.fusion,
        "data": str(run.manifest.root),
        "val_score": state.best_score,
        "val_accuracy": best.get("val_accuracy"),
        "val_accuracy_clean": best.get("val_accuracy_clean"),
        "val_subsets": best.get("val_subsets"),
        "val_levels": "each record at one corruption level 0-3, drawn per record",
        "val_score_is": "mean accuracy over the seven modality subsets; it picks the best epoch",
        "epochs": state.epoch,
        "epochs_planned": run.epochs,
        "best_epoch": state.best_epoch,
        "stopped_early": state.stopped_early,
        "stopped": state.stopped,
        "steps": state.step,
        "params": model.parameter_count(),
        "train_seconds": round(state.train_seconds, 1),
        "device": describe_device(run.device),
        "settings": {
            "batch_size": state.batch_size,
            "lr": state.lr,
            "seed": state.seed,
            "label_smoothing": LABEL_SMOOTHING,
            "weight_decay": WEIGHT_DECAY,
            "patience": run.patience,
            "corruption_mix": asdict(run.train_set.mix),
            "augmentation": asdict(run.train_set.augmentation),
            "modality_dropout": model.config.modality_dropout,
            "objective": OBJECTIVE,
        },
        **calibration,
        "history": state.history,
    }
    save_checkpoint(model, run.out_dir, metrics)
    message = (
        ("stopped on request; " if state.stopped else "")
        + f"best epoch {state.best_epoch}: val acc {_percent(best.get('val_accuracy'))}; "
        f"temperature {calibration['temperature']:.3f}; saved to {run.folder.out}"
    )
    return TrainEvent(
        "done",
        state.epoch,
        run.epochs,
        state.step,
        state.step,
        val_accuracy=best.get("val_accuracy"),
        message=message,
        metrics=metrics,
    )


def _done_elsewhere(run: _Run) -> TrainEvent:
    """A rank other than 0 ends here: rank 0 calibrates and writes the checkpoint."""
    state = run.state
    return TrainEvent(
        "done", state.epoch, run.epochs, state.step, state.step,
        message=f"rank {run.context.rank} done; rank 0 writes the checkpoint",
    )  # fmt: skip


def _best_history(state: TrainerState) -> dict[str, Any]:
    return next((h for h in state.history if h["epoch"] == state.best_epoch), {})


def _calibrate(run: _Run) -> dict[str, float]:
    """Fit the temperature on the validation logits of every coalition a record has (each
    modality alone, each pair, all): the studio shows them all, a modality's own belief as
    much as the fused one. Report the full-modality NLL and ECE before and after."""
    run.model.config.temperature = 1.0
    logits, labels, present = _val_logits(run)
    valid = subset_validity(present)
    temperature = fit_temperature(logits[valid], labels.unsqueeze(1).expand_as(valid)[valid])
    logits = logits[:, ALL_INPUTS]
    run.model.config.temperature = temperature
    return {
        "temperature": temperature,
        "val_nll_before": float(F.cross_entropy(logits, labels)),
        "val_nll_after": float(F.cross_entropy(logits / temperature, labels)),
        "val_ece_before": expected_calibration_error(logits.softmax(-1), labels),
        "val_ece_after": expected_calibration_error((logits / temperature).softmax(-1), labels),
    }


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The T > 0 minimising the NLL of softmax(logits / T): a coarse grid over log T, then
    a finer one around the best point. A scalar search needs no optimiser tuning and cannot
    diverge the way LBFGS can on nearly separable data."""
    if len(labels) == 0:
        return 1.0
    logits = logits.double()

    def nll(log_t: torch.Tensor) -> torch.Tensor:
        scaled = logits.unsqueeze(0) / log_t.exp().view(-1, 1, 1)
        return (
            F.cross_entropy(scaled.flatten(0, 1), labels.repeat(len(log_t)), reduction="none")
            .view(len(log_t), -1)
            .mean(1)
        )

    grid = torch.linspace(math.log(0.05), math.log(20.0), 121, dtype=torch.float64)
    best = grid[nll(grid).argmin()]
    step = float(grid[1] - grid[0])
    fine = torch.linspace(float(best) - step, float(best) + step, 81, dtype=torch.float64)
    return round(float(fine[nll(fine).argmin()].exp()), 4)


# ------------------------------------------------------------------------------ resumable state


def _save_state(run: _Run) -> None:
    tensors = {
        f"model/{k}": v.detach().contiguous().cpu() for k, v in run.model.state_dict().items()
    }
    tensors.update({f"best/{k}": v.contiguous() for k, v in run.best_weights.items()})
    optimizer_state = run.optimizer.state_dict()
    for index, entry in optimizer_state["state"].items():
        for key, value in entry.items():
            tensors[f"optim/{index}/{key}"] = torch.as_tensor(value).detach().contiguous().cpu()
    run.state.optimizer_groups = [
        {k: v for k, v in g.items()} for g in optimizer_state["param_groups"]
    ]
    run.state.config = run.model.config.to_dict()
    _atomic(run.out_dir / STATE_TENSORS, lambda path: save_file(tensors, str(path)))
    text = json.dumps(asdict(run.state), indent=2) + "\n"
    _atomic(run.out_dir / STATE_JSON, lambda path: path.write_text(text, encoding="utf-8"))


def _atomic(path: Path, write) -> None:
    """Write beside the target and rename, so an interrupted save leaves the old state intact."""
    partial = path.with_name(path.name + ".partial")
    write(partial)
    partial.replace(path)


def _has_state(folder: Path) -> bool:
    return (folder / STATE_JSON).is_file() and (folder / STATE_TENSORS).is_file()


def _load_state(out_dir: Path) -> TrainerState | None:
    path = out_dir / STATE_JSON
    if not _has_state(out_dir):
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(saved, dict):
            raise TypeError("it is not a JSON object")
        state = TrainerState.from_dict(saved)
    except (ValueError, TypeError, RecursionError) as error:
        raise InputError(f"the saved training state cannot be read ({error})", path) from error
    if min(state.batch_size, state.epoch + 1, state.step + 1) < 1 or not (
        math.isfinite(state.lr) and state.lr > 0
    ):
        raise InputError(
            "the saved training state has an impossible batch size, learning rate or epoch", path
        )
    return state


def _restore_tensors(
    out_dir: Path, model: FusionNet, optimizer, state: TrainerState
) -> dict[str, torch.Tensor]:
    path = out_dir / STATE_TENSORS
    try:
        tensors = load_file(str(path))
        model.load_state_dict(_section(tensors, "model/"))
        per_param: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in _section(tensors, "optim/").items():
            index, name = key.split("/", 1)
            per_param.setdefault(int(index), {})[name] = value
        optimizer.load_state_dict({"state": per_param, "param_groups": state.optimizer_groups})
    except (SafetensorError, OSError, RuntimeError, ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"the saved training state does not fit this run or is damaged ({error})", path
        ) from error
    return _section(tensors, "best/")


def _section(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
