"""The comparison plan: which runs, on which data, under which budget; checked before anything
is written.

The budget is what makes the comparison fair: every run trains for the same number of epochs
over the same records with the same batch size, so every strategy gets the same optimiser
steps; a seed fixes the data order, the corruptions and the augmentation for every strategy
alike (they are drawn from the seed and the epoch, never from the model). Early stopping may
end a run sooner, but the ceiling is the same for all.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError
from mmstudio.models.config import FUSION_STRATEGIES, FusionConfig
from mmstudio.training.comparison.files import PLAN, read_json, write_json

VERSION = 1


@dataclass(frozen=True)
class Budget:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    patience: int = 4
    modality_dropout: float | None = None  # None: the model settings' own (FusionConfig's)


@dataclass(frozen=True)
class PlannedRun:
    id: str
    fusion: str
    seed: int
    dir: str
    steps: int  # the ceiling: epochs x batches per epoch

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "fusion": self.fusion, "seed": self.seed, "dir": self.dir,
                "steps": self.steps}  # fmt: skip


@dataclass
class Plan:
    data: str
    fusions: list[str]
    seeds: list[int]
    budget: dict[str, Any]
    device: str
    nproc: int
    runs: list[PlannedRun]
    config_overrides: dict[str, Any] = field(default_factory=dict)

    def run(self, run_id: str) -> PlannedRun:
        for run in self.runs:
            if run.id == run_id:
                return run
        raise InputError(f"the plan has no run '{run_id}'")

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": VERSION, "data": self.data, "fusions": self.fusions, "seeds": self.seeds,
            "budget": self.budget, "device": self.device, "nproc": self.nproc,
            "config_overrides": self.config_overrides,
            "runs": [run.to_dict() for run in self.runs],
        }  # fmt: skip

    def write(self, directory: Path) -> None:
        write_json(directory / PLAN, self.to_dict())

    @classmethod
    def read(cls, directory: Path) -> Plan:
        path = directory / PLAN
        data = read_json(path)
        try:
            if data["version"] != VERSION:
                raise ValueError(f"version {data['version']} (this mmstudio writes {VERSION})")
            runs = [PlannedRun(**run) for run in data["runs"]]
            return cls(
                data=data["data"], fusions=list(data["fusions"]), seeds=list(data["seeds"]),
                budget=dict(data["budget"]), device=data["device"], nproc=int(data["nproc"]),
                runs=runs, config_overrides=dict(data.get("config_overrides", {})),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"the comparison plan cannot be read ({error})", path) from error


def parse_fusions(text: str) -> list[str]:
    """ "concat,late" -> ["concat", "late"]; an unknown or repeated name is refused."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise InputError("--fusion needs at least one strategy")
    for name in names:
        if name not in FUSION_STRATEGIES:
            raise InputError(
                f"--fusion: unknown fusion strategy '{name}'; "
                f"choose from {', '.join(FUSION_STRATEGIES)}"
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"--fusion names {', '.join(repeated)} more than once")
    return names


def check_seeds(count: int) -> None:
    if count < 1:
        raise InputError(f"--seeds must be at least 1, not {count}")


def make_plan(
    data: Path,
    fusions: list[str],
    seeds: list[int],
    budget: Budget,
    *,
    device: str = "auto",
    nproc: int = 1,
    config_overrides: dict[str, Any] | None = None,
) -> Plan:
    """Check everything a run would refuse (dataset, settings, model size) and lay out the runs;
    nothing is written here."""
    from mmstudio.models.device import pick_device
    from mmstudio.training.data import split_records
    from mmstudio.training.manifest import read_manifest
    from mmstudio.training.trainer import TrainSettings, _check_settings, check_model_settings

    if nproc < 1:
        raise InputError(f"--nproc must be at least 1, not {nproc}")
    _check_settings(TrainSettings(
        "concat", budget.epochs, budget.batch_size, budget.lr, patience=budget.patience
    ))  # fmt: skip
    overrides = dict(config_overrides or {})
    if budget.modality_dropout is not None:
        if not (0.0 <= budget.modality_dropout < 1.0):
            raise InputError(
                f"--modality-dropout must be at least 0 and below 1, not {budget.modality_dropout}"
            )
        overrides["modality_dropout"] = budget.modality_dropout
    pick_device(device)
    manifest = read_manifest(data)
    for fusion in fusions:
        check_model_settings(manifest, fusion, overrides)
    runs = []
    # Seed by seed: an interrupted or stopped comparison then holds every strategy for the
    # seeds it finished, and the window draws every strategy's curve from the start.
    for seed in seeds:
        for fusion in fusions:
            records = split_records(manifest, "train", seed)
            if not records:
                raise InputError("the dataset has no 'train' records to train with", data)
            last = len(records) % budget.batch_size
            if 0 < last < nproc:  # every process needs a share of every batch, the last too
                raise InputError(
                    f"with seed {seed} the last batch of each epoch holds {last} of the "
                    f"{len(records)} training records, too few for {nproc} processes; choose a "
                    f"--batch-size that leaves at least {nproc} (or none) over"
                )
            steps = math.ceil(len(records) / budget.batch_size) * budget.epochs
            run_id = f"{fusion}-seed{seed}"
            runs.append(PlannedRun(run_id, fusion, seed, run_id, steps))
    dropout = overrides.get("modality_dropout", FusionConfig.modality_dropout)
    steps = {run.steps for run in runs}
    budget_dict = {
        "epochs": budget.epochs,
        # Per run; with a dataset split by id hash the train split, and so this, varies by seed.
        "steps": steps.pop() if len(steps) == 1 else max(run.steps for run in runs),
        "batch_size": budget.batch_size,
        "lr": budget.lr,
        "modality_dropout": dropout,
        "patience": budget.patience,
    }
    return Plan(
        data=os.path.abspath(manifest.root), fusions=list(fusions), seeds=list(seeds),
        budget=budget_dict, device=device, nproc=nproc, runs=runs, config_overrides=overrides,
    )  # fmt: skip
