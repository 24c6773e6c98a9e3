"""``mmstudio train`` when it compares: the plan checked and written, the driver run with a
progress bar over the whole comparison and a line per run.

Any list of strategies or any --seeds makes a comparison; so does --resume on a comparison's
folder. A single strategy without --seeds is the plain run it always was.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError
from mmstudio.training.comparison.files import PLAN, RunStatus, driver_running
from mmstudio.training.comparison.launch import check_launchable
from mmstudio.training.comparison.plan import Budget, Plan, check_seeds, make_plan

DEFAULTS = Budget()


def is_comparison(args: argparse.Namespace, fusions: list[str]) -> bool:
    resuming_one = args.resume and (Path(args.out) / PLAN).is_file()
    return len(fusions) > 1 or args.seeds is not None or resuming_one


def run_comparison(args: argparse.Namespace, fusions: list[str], overrides: dict[str, Any]) -> int:
    from mmstudio.progress import TerminalProgress
    from mmstudio.training.comparison.driver import drive

    directory = Path(os.path.abspath(args.out))
    plan = _resumed_plan(args, fusions) if (directory / PLAN).is_file() else None
    if plan is None:
        plan = _new_plan(args, fusions, overrides, directory)
    print(
        f"comparing {', '.join(plan.fusions)} with seeds {', '.join(map(str, plan.seeds))}: "
        f"{len(plan.runs)} runs of at most {plan.budget['steps']} steps each, in {directory}",
        flush=True,
    )
    end = ""
    with TerminalProgress("step") as bar:
        for event in drive(directory, plan, resume=args.resume):
            if event.kind == "progress":
                bar.show(event.done, event.total, description=event.run)
            elif event.kind == "run":
                bar.show(event.done, event.total, description=event.run)
                bar.write(event.message)
            else:
                end = event.message
    print(end)
    states = {RunStatus.read(directory / run.dir).state for run in plan.runs}
    return 0 if states <= {"done", "stopped"} else 1


def _new_plan(
    args: argparse.Namespace, fusions: list[str], overrides: dict[str, Any], directory: Path
) -> Plan:
    """Everything is checked before the folder is made, so a refused comparison writes nothing."""
    from mmstudio.training.run_folder import check_parents

    if args.seeds is not None:
        check_seeds(args.seeds)
    check_launchable(args.nproc, args.batch_size)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InputError("a comparison needs a new or empty folder for --out", directory)
    check_parents(directory)
    seeds = list(range(args.seed, args.seed + (args.seeds or 1)))
    budget = Budget(args.epochs, args.batch_size, args.lr, args.patience, args.modality_dropout)
    plan = make_plan(args.data, fusions, seeds, budget, device=args.device, nproc=args.nproc,
                     config_overrides=overrides)  # fmt: skip
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(
            f"cannot create the folder ({error.strerror or error})", directory
        ) from error
    plan.write(directory)
    return plan


def _resumed_plan(args: argparse.Namespace, fusions: list[str]) -> Plan:
    """--resume continues the saved plan; strategies or seeds given that differ are refused
    rather than silently ignored."""
    directory = Path(os.path.abspath(args.out))
    if not args.resume:
        raise InputError(
            "this folder holds a comparison: add --resume to continue it, or give a new folder",
            directory,
        )
    running = driver_running(directory)
    if running is not None:
        raise InputError(
            f"this comparison is still running (process {running}); stop it before resuming",
            directory,
        )
    plan = Plan.read(directory)
    if os.path.abspath(args.data) != plan.data:
        raise InputError(f"this comparison trains on {plan.data}, not on {args.data}", directory)
    given_fusions = args.fusion is not None and fusions != plan.fusions
    given_seeds = (
        args.seeds is not None and list(range(args.seed, args.seed + args.seeds)) != plan.seeds
    )
    if given_fusions or given_seeds:
        raise InputError(
            f"--resume continues the saved plan ({', '.join(plan.fusions)}; seeds "
            f"{', '.join(map(str, plan.seeds))}); leave out --fusion and --seeds or match them",
            directory,
        )
    check_launchable(plan.nproc, plan.budget["batch_size"])
    from mmstudio.training.manifest import read_manifest

    read_manifest(plan.data)  # still there and readable, with the same messages as a new run
    return plan
