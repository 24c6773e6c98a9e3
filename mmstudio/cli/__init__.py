"""The command line: ``mmstudio [gui] | predict | analyze | models | train | evaluate | build-digits``.

Heavy imports (torch, Qt) happen inside the handlers so ``mmstudio --help`` and the
window both start quickly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mmstudio import __version__
from mmstudio.cli.answers import generation_options, given_generation_options, predict_answer
from mmstudio.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    fail,
    write_files,
)


def _add_gui(subparsers) -> None:
    parser = subparsers.add_parser("gui", help="open the studio window (the default)")
    _add_model_options(parser)
    parser.set_defaults(handler=_run_gui)


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        help="a registered model name or a checkpoint folder (default: the built-in digits model)",
    )
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default: auto)")


def _add_zero_shot_options(parser: argparse.ArgumentParser) -> None:
    # Only where they act: the window loads models by name and has no label field yet.
    parser.add_argument(
        "--labels",
        help='candidate labels for zero-shot models such as clip-clap, e.g. "dog, cat, siren"',
    )
    parser.add_argument(
        "--allow-download",
        action="store_true",
        help="let the clip-clap backend download missing weights into the Hugging Face cache",
    )


def _add_predict(subparsers) -> None:
    parser = subparsers.add_parser("predict", help="analyse one image / text / audio input")
    parser.add_argument("--image", help="an image file")
    text = parser.add_mutually_exclusive_group()
    text.add_argument("--text", help="text to analyse")
    text.add_argument(
        "--text-file",
        metavar="PATH",
        help="read the text to analyse from a UTF-8 file (at most 1 MB; for text too long for "
        "one argument)",
    )
    parser.add_argument("--audio", help="an audio file (WAV, FLAC, OGG, MP3)")
    _add_model_options(parser)
    _add_zero_shot_options(parser)
    parser.add_argument("--json", action="store_true", help="print the whole Analysis as JSON")
    _add_verbose(parser, default=argparse.SUPPRESS)
    parser.add_argument(
        "--full-heatmaps",
        action="store_true",
        help="with --json: the image heatmap at the size of the image as loaded, not at most "
        "256 pixels a side",
    )
    parser.add_argument(
        "--heatmaps", metavar="DIR", help="write heatmap overlays as PNG files into DIR"
    )
    parser.add_argument(
        "--top",
        type=_positive_count,
        default=5,
        help="how many labels to list, at least 1 (default 5; more than the model has lists "
        "all); for a generative model, how many tokens to list per modality",
    )
    _add_generation_options(parser)
    parser.set_defaults(handler=_run_predict)


def _add_generation_options(parser: argparse.ArgumentParser) -> None:
    # None by default: a classifier refuses them only when they were given.
    group = parser.add_argument_group(
        "generative models", "how the answer is decoded (refused for classifiers)"
    )
    group.add_argument(
        "--max-new-tokens",
        type=_positive_count,
        metavar="N",
        help="the longest answer, in tokens (default 64)",
    )
    group.add_argument(
        "--sample",
        action="store_true",
        default=None,
        help="sample the answer instead of greedy decoding (repeatable with --seed)",
    )
    group.add_argument("--seed", type=int, help="with --sample: the seed of the draw (default 0)")
    group.add_argument(
        "--temperature", type=float, help="with --sample: the temperature, above 0 (default 1)"
    )
    group.add_argument(
        "--top-p", type=float, help="with --sample: nucleus sampling's p, in (0, 1] (default 1)"
    )
    group.add_argument(
        "--contrastive",
        action="store_true",
        default=None,
        help="also generate the answer without each modality the input has (one more "
        "generation per modality)",
    )
    group.add_argument(
        "--maps",
        choices=("attention", "occlusion"),
        help="how the per-token maps are made, for every modality (default: each modality's "
        "measured default, see docs/generative.md)",
    )


def _add_verbose(parser: argparse.ArgumentParser, default) -> None:
    # SUPPRESS on the subcommand: its default would otherwise undo `mmstudio --verbose predict`.
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=default,
        help="also show the details: what the image and audio decoders printed while reading "
        "a file, and the full reason a file could not be decoded",
    )


def _show_details() -> None:
    """Send mmstudio's DEBUG log (decoder messages, decode failures) to stderr."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("mmstudio: %(message)s"))
    logger = logging.getLogger("mmstudio")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def _positive_count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{value}'") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _add_models(subparsers) -> None:
    parser = subparsers.add_parser(
        "models", help="list the registered models and where their weights are"
    )
    parser.set_defaults(handler=_run_models)


def _add_doctor(subparsers) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="print versions, the device, the system components found and the model weights, for a bug report",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--model",
        help="measure the precision with this model (a name or a folder, such as a Hugging "
        "Face model folder) instead of the default model",
    )
    parser.set_defaults(handler=lambda args: _doctor().run(as_json=args.json, model=args.model))


def _doctor():
    from mmstudio import doctor

    return doctor


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmstudio",
        description="Explore multimodal fusion models: predictions, heatmaps and modality contributions.",
    )
    parser.add_argument("--version", action="version", version=f"mmstudio {__version__}")
    _add_verbose(parser, default=False)
    subparsers = parser.add_subparsers(dest="command")
    _add_gui(subparsers)
    _add_predict(subparsers)
    _add_models(subparsers)
    _add_doctor(subparsers)
    try:
        from mmstudio.training.commands import add_subcommands
    except ImportError:  # an installation without the training tools still predicts
        pass
    else:
        add_subcommands(subparsers)
    from mmstudio.datasets.commands import add_subcommands as add_dataset_subcommands

    add_dataset_subcommands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        _show_details()
    if args.command is None:
        return _run_gui(argparse.Namespace(model=None, device=None))
    try:
        status = args.handler(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (`| head`) has gone: stop quietly, and keep the interpreter's final flush
        # of the dead pipe from printing a second error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return status


def _run_gui(args) -> int:
    from mmstudio.system import xcb_problem

    problem = xcb_problem()
    if problem:
        return fail(problem)
    from mmstudio.gui.shell.app import run

    return run(model=args.model, device=args.device)


def _run_predict(args) -> int:
    from mmstudio.inputs import InputError
    from mmstudio.result import NonFiniteAnalysisError

    if not (args.image or args.text is not None or args.text_file or args.audio):
        return fail("give at least one of --image, --text, --text-file or --audio")
    try:
        options = generation_options(args)  # before the model loads: a typo fails fast
        from mmstudio.analysis import load_analyzer
        from mmstudio.inputs import make_sample
        from mmstudio.inputs.text import NO_TEXT

        text = Path(args.text_file) if args.text_file else args.text
        sample = make_sample(image=args.image, text=text, audio=args.audio)
        if text is not None and not sample.text:
            source = Path(args.text_file).name if args.text_file else "--text"
            return fail(f"{source}: {NO_TEXT}")
        analyzer = load_analyzer(
            args.model, _device(args.device), labels=args.labels, allow_download=args.allow_download
        )
        if analyzer.generates:
            return predict_answer(args, analyzer, sample, options)
        given = given_generation_options(args)
        if given:
            return fail(
                f"{', '.join(given)}: decoding options are for generative models; "
                f"'{analyzer.model_name}' is a classifier"
            )
        analysis = analyzer.analyze(sample)
        report = (
            analysis.to_json(full_heatmaps=args.full_heatmaps)
            if args.json
            else format_summary(analysis, args.top)
        )
    except InputError as error:
        return fail(str(error))
    except NonFiniteAnalysisError:
        return fail("the model's output is not finite (NaN or infinity): its weights are broken")
    if args.heatmaps:
        from mmstudio.explain.render import write_heatmap_pngs

        written = write_files(write_heatmap_pngs, analysis, sample, args.heatmaps)
        if written is None:
            return EXIT_BAD_INPUT
        if not args.json:
            for path in written:
                print(f"wrote {path}")
    print(report)
    return 0


def _device(requested: str | None):
    from mmstudio.inputs import InputError
    from mmstudio.models.device import pick_device

    try:
        return pick_device(requested)
    except InputError as error:
        raise InputError(f"--device {requested}: {error}") from None


def format_summary(analysis, top: int = 5) -> str:
    lines = [
        f"Prediction: {analysis.predicted_label}  ({analysis.confidence:.1%})",
        f"Model: {analysis.model_name} on {analysis.device}; inputs: {', '.join(analysis.present)}",
        "",
        "Top labels:",
    ]
    width = max(len(label) for label, _ in analysis.top_k(top))
    for label, probability in analysis.top_k(top):
        bar = "#" * round(probability * 30)
        lines.append(f"  {label:<{width}}  {probability:6.1%}  {bar}")
    lines += ["", "Modality contributions (exact Shapley, log-probability of the prediction):"]
    lines.append(f"  {'base (no input)':<16} {analysis.shapley_base:+.3f}")
    for modality, value in analysis.shapley.items():
        lines.append(f"  {modality:<16} {value:+.3f}")
    lines.append(f"  {'= full input':<16} {analysis.full_score:+.3f}")
    pairs = analysis.interactions.get("shapley_interaction", {})
    if pairs:
        lines += [
            "",
            "Modality interactions (pairwise Shapley interaction; + synergy, - redundancy):",
        ]
        for pair, value in pairs.items():
            lines.append(f"  {pair.replace('+', ' x '):<16} {value:+.3f}")
    if analysis.fusion_weights:
        lines += ["", f"Model's fusion weights ({analysis.fusion_weights_kind}):"]
        for modality, weight in analysis.fusion_weights.items():
            lines.append(f"  {modality:<16} {weight:.2f}")
    for note in analysis.notes:
        lines.append(f"Note: {note}")
    lines.append(f"\nAnalysis took {analysis.timings_ms.get('total', 0.0):.1f} ms")
    return "\n".join(lines)


def _run_models(args) -> int:
    from mmstudio.models.registry import list_models, registry_problems

    for entry in list_models():
        state = "ready" if entry.available else f"unavailable: {entry.problem}"
        print(f"{entry.name}  [{entry.source}]  {entry.task}  {state}")
        if entry.description:
            print(f"    {entry.description}")
        if entry.location:
            print(f"    weights: {entry.location}")
    for problem in registry_problems():
        print(f"refused: {problem}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
