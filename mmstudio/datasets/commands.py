"""``mmstudio analyze``: a whole dataset through the analyzer into Parquet, with a summary.

``mmstudio.cli`` calls :func:`add_subcommands` on its subparsers and dispatches to
``args.handler(args)``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from mmstudio.inputs.errors import InputError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def add_subcommands(subparsers) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="analyse every record of a dataset into a Parquet table and a summary",
        description="Predictions, exact modality Shapley values, fusion weights and every "
        "coalition's value for each record, written as Parquet parts into OUT as they come; "
        "then a summary (accuracy per class and slice, confusion, calibration, reliance, "
        "accuracy for every coalition of modalities, modality interactions per class) printed and "
        "written as JSON. Two checks follow on seeded draws of the rows: a swap test per "
        "modality and the faithfulness of the heatmaps (deletion curves).",
    )
    parser.add_argument(
        "data", type=Path, help="dataset folder (manifest.jsonl / manifest.csv, or loose files)"
    )
    parser.add_argument(
        "--model", help="a registered model name or a checkpoint folder (default: digits)"
    )
    parser.add_argument(
        "--compare",
        metavar="M2",
        help="a second model (registered name or checkpoint folder) to analyse every record "
        "too: its columns (compare_*) and an agree column go into the same rows, and the "
        "summary compares the two",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results.parquet"),
        help="results folder of Parquet parts (default: results.parquet)",
    )
    parser.add_argument(
        "--summary", type=Path, help="summary JSON (default: OUT with .summary.json)"
    )
    parser.add_argument("--split", help="only this split of the manifest (train, val, test)")
    parser.add_argument(
        "--batch-size",
        type=int,
        help="records per batch (default 32; 1 for a generative model, whose answers are "
        "generated one by one)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="decoding threads (local engine) or analyzer actors (ray engine); default 2",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--limit", type=int, help="analyse only the first N records")
    parser.add_argument("--engine", choices=("local", "ray"), default="local")
    parser.add_argument(
        "--resume", action="store_true", help="keep the rows already in OUT, analyse the rest"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="remove the rows already in OUT first"
    )
    parser.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=5.0,
        help="write the finished rows at least this often (default 5); a killed run loses "
        "at most this much work",
    )
    _add_followup_options(parser)
    _add_generation_options(parser)
    parser.set_defaults(handler=run_analyze)


def _add_generation_options(parser) -> None:
    group = parser.add_argument_group(
        "generative models",
        "each record's answer is generated greedily and explained: its log-probability under "
        "every coalition of modalities and its exact Shapley values",
    )
    group.add_argument(
        "--max-new-tokens",
        type=int,
        metavar="N",
        help="the longest answer, in tokens (default 64)",
    )
    group.add_argument(
        "--coalition-answers",
        action="store_true",
        help="also generate each record's answer under every coalition of its modalities "
        "(2^M - 1 more generations per record, M the model's modalities: 3 more for image + "
        "text), so the summary gives the exact-match accuracy of every coalition",
    )


def _add_followup_options(parser) -> None:
    # The defaults are the checks' own: see DEFAULT_RECORDS in swap_test and
    # faithfulness_summary for why that many (seconds on a CPU; a test checks they agree).
    parser.add_argument(
        "--swap-test",
        type=int,
        default=500,
        metavar="N",
        help="swap test: for each modality, up to N records analysed again with that modality "
        "from a record of another class; how often the prediction follows it (default 500; "
        "0 turns it off)",
    )
    parser.add_argument(
        "--faithfulness",
        type=int,
        default=100,
        metavar="N",
        help="deletion curves of the heatmaps on up to N records per modality, against random "
        "deletion (default 100; 0 turns it off)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the records the checks draw (default 0)"
    )


def summary_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.summary.json")


def run_analyze(args: argparse.Namespace) -> int:
    if (args.batch_size is not None and args.batch_size < 1) or args.workers < 1:
        return _fail("--batch-size and --workers must be at least 1")
    if args.limit is not None and args.limit < 1:
        return _fail("--limit must be at least 1")
    if args.checkpoint_seconds < 0:
        return _fail("--checkpoint-seconds must not be negative")
    if args.swap_test < 0 or args.faithfulness < 0:
        return _fail("--swap-test and --faithfulness take a number of records (0 turns it off)")
    if args.resume and args.overwrite:
        return _fail("--resume keeps the rows in OUT and --overwrite removes them: choose one")
    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        return _fail("--max-new-tokens must be at least 1")
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _analyze(args)
    except InputError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        from mmstudio.datasets.store import ResultsStore

        rows = len(ResultsStore(args.out).finished_ids())
        print(
            f"\nmmstudio: interrupted; {rows} rows are in {args.out}. "
            "Run the same command with --resume to finish.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # the same orderly stop as Ctrl+C: finished rows are written


def _analyze(args: argparse.Namespace) -> int:
    from mmstudio.datasets.records import read_records
    from mmstudio.datasets.summary import format_summary, summarize, write_summary

    dataset = read_records(args.data, split=args.split, limit=args.limit)
    if not dataset.records:
        return _fail(
            f"no records to analyse in {args.data}"
            + (f" ({args.split} split)" if args.split else "")
        )
    analyzer = None
    if args.engine == "ray":
        _run_ray(args, dataset)
    else:
        analyzer = _run_local(args, dataset)
    summary = summarize(args.out)
    # Written before the checks too: an interrupted check leaves the rows' summary behind.
    path = write_summary(summary, args.summary or summary_path(args.out))
    try:
        summary.update(_followups(args, analyzer))
    except KeyboardInterrupt:
        print(
            f"\nmmstudio: interrupted during the follow-up checks; every row is in {args.out} "
            f"and their summary, without the checks, in {path}.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    write_summary(summary, path)
    print(format_summary(summary))
    print(f"\nrows in {args.out}; summary in {path}")
    return 0


def _run_local(args, dataset) -> None:
    from mmstudio.analysis import load_analyzer
    from mmstudio.datasets.engine import DEFAULT_BATCH_SIZE, LocalAnalysis
    from mmstudio.progress import TerminalProgress, run_steps

    analyzer = load_analyzer(args.model, args.device, explain=False)
    _check_generation_options(args, analyzer)
    compare = load_analyzer(args.compare, args.device, explain=False) if args.compare else None
    batch_size = args.batch_size or (1 if analyzer.generates else DEFAULT_BATCH_SIZE)
    run = LocalAnalysis(
        analyzer,
        dataset,
        args.out,
        batch_size=batch_size,
        workers=args.workers,
        resume=args.resume,
        overwrite=args.overwrite,
        flush_seconds=args.checkpoint_seconds,
        compare=compare,
        generation=_generation_options(args) if analyzer.generates else None,
        coalition_answers=args.coalition_answers,
    )
    # run_steps closes the run's generator: an interrupt raised here rather than inside the
    # run still writes its rows before the handler counts them.
    with TerminalProgress("rec") as bar:
        run_steps(
            run.steps(),
            lambda progress: bar.show(
                progress.done,
                progress.total,
                stage="analysing",
                start=progress.resumed,
                errors=progress.errors,
            ),
        )
    return analyzer


def _check_generation_options(args, analyzer) -> None:
    if analyzer.generates:
        return
    given = [
        flag
        for flag, value in (
            ("--max-new-tokens", args.max_new_tokens),
            ("--coalition-answers", args.coalition_answers or None),
        )
        if value is not None
    ]
    if given:
        raise InputError(
            f"{', '.join(given)}: for generative models; '{analyzer.model_name}' is a classifier"
        )


def _generation_options(args):
    from mmstudio.models.generative.options import GenerationOptions

    if args.max_new_tokens is None:
        return GenerationOptions()
    return GenerationOptions(max_new_tokens=args.max_new_tokens)


def _followups(args, analyzer) -> dict:
    """The swap test and the faithfulness sections, with a progress bar per check."""
    if not (args.swap_test or args.faithfulness):
        return {}
    if analyzer is not None and analyzer.generates:
        # Both checks read a class per record and a classifier's heatmaps.
        print(
            "mmstudio: the swap test and the faithfulness check are for classifiers; "
            "skipped for a generative model",
            file=sys.stderr,
        )
        return {}
    from mmstudio.analysis import load_analyzer
    from mmstudio.datasets.followup import followup_steps
    from mmstudio.progress import TerminalProgress, run_steps

    if analyzer is None:  # the Ray engine's actors held the model
        analyzer = load_analyzer(args.model, args.device, explain=False)
    steps = followup_steps(
        analyzer,
        args.out,
        swap_records=args.swap_test,
        faithfulness_records=args.faithfulness,
        seed=args.seed,
    )
    with TerminalProgress("rec") as bars:
        return run_steps(
            steps, lambda progress: bars.show(progress.done, progress.total, stage=progress.stage)
        )


def _run_ray(args, dataset) -> None:
    from mmstudio.datasets.engine import DEFAULT_BATCH_SIZE
    from mmstudio.datasets.ray_engine import GENERATORS_NOT_ON_RAY, RayAnalysis

    if args.max_new_tokens is not None or args.coalition_answers:
        raise InputError(GENERATORS_NOT_ON_RAY)
    RayAnalysis(
        args.model,
        dataset,
        args.out,
        batch_size=args.batch_size or DEFAULT_BATCH_SIZE,
        actors=args.workers,
        device=args.device,
        resume=args.resume,
        overwrite=args.overwrite,
        compare=args.compare,
    ).run()


def _fail(message: str) -> int:
    print(f"mmstudio: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
