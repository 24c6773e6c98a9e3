"""Command-line subcommands for training: train, evaluate, build-digits, build-digits-chat
(:mod:`mmstudio.training.chat_dataset`), model-card and train-chat (digits-chat, in
training/chat).

``mmstudio.cli`` calls :func:`add_subcommands` on its subparsers and dispatches to
``args.handler(args)``; ``python -m mmstudio.training.commands`` runs the same commands on
their own, which is what packaging/train_default_model.sh uses.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError
from mmstudio.models.config import FUSION_STRATEGIES
from mmstudio.training.chat.command import add_train_chat
from mmstudio.training.chat_dataset import add_subcommand as add_build_digits_chat

# What a checkpoint folder ships with; the training state stays behind in the run folder.
SHIPPED_FILES = ("model.safetensors", "config.json", "labels.txt", "metrics.json")
TEST_METRICS = "metrics_test.json"
CHECKPOINT = "checkpoint"  # a comparison run's checkpoint folder
DEFAULT_CARD = Path("resources/models/digits/MODEL_CARD.md")


def add_subcommands(subparsers) -> None:
    _add_train(subparsers)
    _add_evaluate(subparsers)
    _add_build_digits(subparsers)
    add_build_digits_chat(subparsers)
    _add_model_card(subparsers)
    add_train_chat(subparsers)


def _add_train(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a fusion model on a dataset folder",
        description="Train a FusionNet on a manifest folder's train split. A list of "
        "strategies (--fusion concat,late) or --seeds N trains every strategy with every seed at "
        "an equal budget and writes a comparison report to --out.",
    )
    parser.add_argument(
        "data", type=Path, help="dataset folder with manifest.jsonl or manifest.csv"
    )
    parser.add_argument(
        "--fusion",
        default=None,
        metavar="NAME[,NAME...]",
        help=f"one or more of {', '.join(FUSION_STRATEGIES)}, comma-separated (default attention)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="N",
        help="train each strategy with N seeds, from --seed on (0..N-1 by default), and compare",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="run folder for the checkpoint and state (a comparison: its folder of runs)",
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 or mps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--patience", type=int, default=4, help="epochs without improvement before stopping"
    )
    parser.add_argument(
        "--modality-dropout",
        type=float,
        default=None,
        metavar="P",
        help="the chance of dropping each modality in training (overrides the model setting)",
    )
    parser.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="processes per run of a comparison, launched by torchrun (docs/scale.md)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run (or the comparison) saved in --out",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model setting, e.g. --set dim=64 (JSON values)",
    )
    parser.set_defaults(handler=run_train)


def _add_evaluate(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a model on a dataset split",
        description="Accuracy per modality subset and corruption level, "
        "calibration, confusion matrix, size and CPU latency.",
    )
    parser.add_argument("model", help="checkpoint folder or registered model name")
    parser.add_argument("data", type=Path, help="dataset folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--json", type=Path, dest="json_path", help="write the metrics here")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.set_defaults(handler=run_evaluate)


def _add_build_digits(subparsers) -> None:
    parser = subparsers.add_parser(
        "build-digits", help="build the image + speech + text digits dataset"
    )
    parser.add_argument("out", type=Path, help="folder to write the dataset into")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", choices=("small", "full"), default="full")
    parser.set_defaults(handler=run_build_digits)


def _add_model_card(subparsers) -> None:
    parser = subparsers.add_parser(
        "model-card",
        help="compare training runs and write the model card",
        description="Choose the best strategy of a comparison (or of evaluated runs) and write "
        "MODEL_CARD.md.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--comparison",
        type=Path,
        help="a finished comparison folder (mmstudio train --seeds): ships the strategy its "
        "report favours, at its best-validation seed",
    )
    source.add_argument("--runs", type=Path, nargs="+", help="run folders with metrics_test.json")
    parser.add_argument("--out", type=Path, default=DEFAULT_CARD)
    parser.add_argument(
        "--data", type=Path, help="dataset folder with build_info.json (default: from the runs)"
    )
    parser.add_argument(
        "--install",
        action="store_true",
        help="also copy the chosen run's checkpoint next to the card",
    )
    parser.set_defaults(handler=run_model_card)


def _reporting_input_errors(handler):
    """User mistakes become one line on stderr and exit status 2, never a traceback."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except InputError as error:
            print(f"mmstudio: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("mmstudio: interrupted", file=sys.stderr)
            return 130

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


# ------------------------------------------------------------------------------------ handlers


@_reporting_input_errors
def run_train(args: argparse.Namespace) -> int:
    from mmstudio.progress import TerminalProgress, run_steps
    from mmstudio.training.comparison.command import is_comparison, run_comparison
    from mmstudio.training.comparison.plan import parse_fusions

    fusions = parse_fusions(args.fusion or "attention")
    if is_comparison(args, fusions):
        return run_comparison(args, fusions, _overrides(args.set))
    if args.nproc != 1:
        raise InputError("--nproc applies to a comparison (a list of --fusion or --seeds)")
    from mmstudio.training.trainer import train

    overrides = _overrides(args.set)
    if args.modality_dropout is not None:
        overrides["modality_dropout"] = args.modality_dropout
    events = train(
        args.data,
        fusion=fusions[0],
        out_dir=args.out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        device=args.device,
        seed=args.seed,
        patience=args.patience,
        resume=args.resume,
        config_overrides=overrides,
    )
    # The bar is closed before any message, so an error never shares a line with it.
    with TerminalProgress("step") as bar:
        run_steps(events, lambda event: _show(event, bar))
    return 0


def _show(event, bar) -> None:
    """Draw one training event on the terminal's progress bar."""
    if event.kind == "start":
        print(event.message, flush=True)
        bar.show(event.step, event.total_steps, start=event.step)
    elif event.kind == "step":
        bar.show(
            event.step,
            event.total_steps,
            description=f"epoch {event.epoch}/{event.epochs}",
            loss=f"{event.loss:.3f}",
            acc=f"{event.accuracy:.1%}",
        )
    elif event.kind == "epoch":
        bar.write(event.message)
    elif event.kind == "done":
        bar.close()
        print(event.message)


def _overrides(pairs: list[str]) -> dict[str, Any]:
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InputError(f"--set expects KEY=VALUE, got '{pair}'")
        try:
            overrides[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key.strip()] = value  # a bare word such as a name
    return overrides


@_reporting_input_errors
def run_evaluate(args: argparse.Namespace) -> int:
    from mmstudio.models.device import pick_device
    from mmstudio.models.registry import get_model
    from mmstudio.training.evaluate import evaluate, format_report

    device = pick_device(args.device)
    model = get_model(args.model, device)
    if not hasattr(model, "config") or not hasattr(model, "encode"):
        raise InputError(f"'{args.model}' is not a FusionNet; evaluate needs encode and fuse")
    metrics = evaluate(
        model,
        args.data,
        split=args.split,
        batch_size=args.batch_size,
        device=device,
        json_path=args.json_path,
    )
    print(format_report(metrics))
    if args.json_path:
        print(f"\nmetrics written to {args.json_path}")
    return 0


@_reporting_input_errors
def run_build_digits(args: argparse.Namespace) -> int:
    from mmstudio.training.digits import build_digits_dataset

    try:
        manifest = build_digits_dataset(args.out, seed=args.seed, size=args.size)
    except (FileExistsError, RuntimeError) as error:
        raise InputError(str(error), args.out) from error
    counts = ", ".join(
        f"{split} {len(manifest.split(split))}" for split in ("train", "val", "test")
    )
    print(f"wrote {len(manifest.records)} records ({counts}) to {args.out}")
    return 0


@_reporting_input_errors
def run_model_card(args: argparse.Namespace) -> int:
    from mmstudio.training.model_card import choose_best, write_model_card

    if args.comparison is not None:
        return _card_from_comparison(args)
    comparison = {}
    for folder in args.runs:
        metrics = load_run(folder)
        comparison[metrics["fusion"]] = metrics
    chosen = choose_best(comparison)
    data = args.data or Path(comparison[chosen]["data"])
    build_info = (
        _read_json(data / "build_info.json") if (data / "build_info.json").is_file() else {}
    )
    if args.install:
        run_dir = Path(comparison[chosen]["run_dir"])
        install_checkpoint(run_dir, args.out.parent, _read_json(run_dir / TEST_METRICS))
    write_model_card(comparison, chosen, args.out, build_info)
    print(
        f"chose {chosen} fusion; wrote {args.out}"
        + (f" and its checkpoint to {args.out.parent}" if args.install else "")
    )
    return 0


def load_run(folder: Path) -> dict[str, Any]:
    """A run's test metrics, with its training metrics under "training"."""
    test_path = folder / TEST_METRICS
    if not test_path.is_file():
        raise InputError(f"no {TEST_METRICS} here: run mmstudio evaluate on this run first", folder)
    return _with_training(_read_json(test_path), folder, folder)


def _with_training(metrics: dict[str, Any], checkpoint: Path, run_dir: Path) -> dict[str, Any]:
    """Test ``metrics`` with the checkpoint's training metrics under "training" (without the
    per-epoch history), its model settings and the run folder."""
    metrics["training"] = (
        _read_json(checkpoint / "metrics.json") if (checkpoint / "metrics.json").is_file() else {}
    )
    metrics["training"].pop("history", None)
    if (checkpoint / "config.json").is_file():
        metrics["model_config"] = _read_json(checkpoint / "config.json")
    metrics["run_dir"] = str(run_dir)
    return metrics


def _card_from_comparison(args: argparse.Namespace) -> int:
    from mmstudio.models.checkpoint import load_checkpoint
    from mmstudio.training.comparison.files import REPORT_JSON, TEST
    from mmstudio.training.comparison.plan import Plan
    from mmstudio.training.model_card import choose_shipped, rank_from_report, write_model_card

    folder = args.comparison
    if not (folder / REPORT_JSON).is_file():
        raise InputError(
            f"no {REPORT_JSON} here: the comparison has not finished (continue it with "
            "mmstudio train ... --resume)",
            folder,
        )
    report = _read_json(folder / REPORT_JSON)
    data = args.data or Path(report["data"])
    build_info = (
        _read_json(data / "build_info.json") if (data / "build_info.json").is_file() else {}
    )
    plan = Plan.read(folder)
    shipped_runs: dict[str, tuple[Path, int, dict[str, Any]]] = {}

    def shipped_metrics(fusion: str) -> dict[str, Any]:
        """The test figures of ``fusion``'s best-validation seed, which it would ship."""
        run_dir, seed = best_validation_run(folder, plan, fusion)
        metrics = _with_training(_read_json(run_dir / TEST), run_dir / CHECKPOINT, run_dir)
        if "either_templates" in build_info:  # the digits dataset: its honesty probes apply
            from mmstudio.training.ambiguity import either_probes, measure_either

            checkpoint = load_checkpoint(run_dir / CHECKPOINT)
            metrics["either"] = measure_either(checkpoint, either_probes("test"))
        shipped_runs[fusion] = (run_dir, seed, metrics)
        return metrics

    choice = choose_shipped(rank_from_report(report), shipped_metrics)
    run_dir, seed, metrics = shipped_runs[choice.fusion]
    if args.install:
        install_checkpoint(run_dir / CHECKPOINT, args.out.parent, metrics)
    card = {choice.fusion: metrics}
    write_model_card(card, choice.fusion, args.out, build_info, report=report, choice=choice)
    print(
        f"chose {choice.fusion} fusion (seed {seed}, the best validation score of its seeds"
        + ("" if choice.meets_targets else "; no strategy met every target")
        + f"); wrote {args.out}"
        + (f" and its checkpoint to {args.out.parent}" if args.install else "")
    )
    return 0


def best_validation_run(folder: Path, plan, fusion: str) -> tuple[Path, int]:
    """The run of ``fusion`` with the best validation score and a test result: what the
    trainer keeps its checkpoint by. Choosing by the test split would flatter its figures."""
    from mmstudio.training.comparison.files import TEST

    scored = []
    for run in plan.runs:
        run_dir = folder / run.dir
        metrics = run_dir / CHECKPOINT / "metrics.json"
        if run.fusion == fusion and metrics.is_file() and (run_dir / TEST).is_file():
            scored.append((_read_json(metrics).get("val_score", float("-inf")), -run.seed, run))
    if not scored:
        raise InputError(f"no finished {fusion} run with a checkpoint and a test result", folder)
    _, _, best = max(scored, key=lambda item: item[:2])
    return folder / best.dir, best.seed


def install_checkpoint(checkpoint: Path, destination: Path, test_metrics: dict[str, Any]) -> None:
    """Copy the shipped files; metrics.json gains the test evaluation so the app can show it."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED_FILES:
        if not (checkpoint / name).is_file():
            raise InputError(f"{name} is missing from the run folder", checkpoint)
        shutil.copyfile(checkpoint / name, destination / name)
    metrics = _read_json(checkpoint / "metrics.json")
    metrics["test"] = {
        key: value for key, value in test_metrics.items()
        if key not in ("training", "model_config", "run_dir")
    }  # fmt: skip
    (destination / "metrics.json").write_text(
        json.dumps(metrics, indent=2) + "\n", encoding="utf-8"
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read JSON ({error})", path) from error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmstudio.training.commands")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
