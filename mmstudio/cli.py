"""The command line: ``mmstudio [gui] | predict | models | train | evaluate | build-digits``.

Heavy imports (torch, Qt) happen inside the handlers so ``mmstudio --help`` and the
window both start quickly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mmstudio import __version__

EXIT_BAD_INPUT = 2


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
    parser.add_argument("--text", help="text to analyse")
    parser.add_argument("--audio", help="an audio file (WAV, FLAC, OGG, MP3)")
    _add_model_options(parser)
    _add_zero_shot_options(parser)
    parser.add_argument("--json", action="store_true", help="print the whole Analysis as JSON")
    parser.add_argument(
        "--heatmaps", metavar="DIR", help="write heatmap overlays as PNG files into DIR"
    )
    parser.add_argument("--top", type=int, default=5, help="how many labels to list (default 5)")
    parser.set_defaults(handler=_run_predict)


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
    parser.set_defaults(handler=lambda args: _doctor().run(as_json=args.json))


def _doctor():
    from mmstudio import doctor

    return doctor


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmstudio",
        description="Explore multimodal fusion models: predictions, heatmaps and modality contributions.",
    )
    parser.add_argument("--version", action="version", version=f"mmstudio {__version__}")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        return _run_gui(argparse.Namespace(model=None, device=None))
    return args.handler(args)


def _fail(message: str) -> int:
    print(f"mmstudio: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _run_gui(args) -> int:
    from mmstudio.system import xcb_problem

    problem = xcb_problem()
    if problem:
        return _fail(problem)
    from mmstudio.gui.app import run

    return run(model=args.model, device=args.device)


def _run_predict(args) -> int:
    from mmstudio.inputs import InputError

    if not (args.image or args.text or args.audio):
        return _fail("give at least one of --image, --text or --audio")
    try:
        from mmstudio.analysis import Analyzer
        from mmstudio.inputs import make_sample
        from mmstudio.models.device import pick_device

        sample = make_sample(image=args.image, text=args.text, audio=args.audio)
        device = pick_device(args.device)
        analyzer = Analyzer(_load_model(args, device), device)
        analysis = analyzer.analyze(sample)
    except InputError as error:
        return _fail(str(error))
    if args.heatmaps:
        from mmstudio.explain.render import write_heatmap_pngs

        try:
            written = write_heatmap_pngs(analysis, sample, args.heatmaps)
        except OSError as error:
            return _fail(
                f"could not write the heatmaps to {args.heatmaps}: {error.strerror or error}"
            )
        if not args.json:
            for path in written:
                print(f"wrote {path}")
    print(analysis.to_json() if args.json else format_summary(analysis, args.top))
    return 0


def _load_model(args, device):
    from mmstudio.inputs import InputError
    from mmstudio.models.registry import get_model
    from mmstudio.models.zeroshot import is_clip_clap_source, load_clip_clap

    if args.allow_download and is_clip_clap_source(args.model or ""):
        model = load_clip_clap(args.model, device, allow_download=True)
    else:
        model = get_model(args.model, device)
    if args.labels:
        if not hasattr(model, "set_labels"):
            raise InputError(
                f"the model '{model.name}' has fixed labels; --labels is for zero-shot models such as clip-clap"
            )
        model.set_labels(args.labels)
    return model


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
    from mmstudio.models.registry import list_models

    for entry in list_models():
        state = "ready" if entry.available else f"unavailable: {entry.problem}"
        print(f"{entry.name}  [{entry.source}]  {state}")
        if entry.description:
            print(f"    {entry.description}")
        if entry.location:
            print(f"    weights: {entry.location}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
