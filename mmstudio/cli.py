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

EXIT_BAD_INPUT = 2
# What a shell reports for a program stopped by Ctrl+C (128 + SIGINT).
EXIT_INTERRUPTED = 130
# What a shell reports for a program stopped by SIGPIPE (128 + 13), e.g. under `| head`.
EXIT_BROKEN_PIPE = 141


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


def _fail(message: str) -> int:
    print(f"mmstudio: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _run_gui(args) -> int:
    from mmstudio.system import xcb_problem

    problem = xcb_problem()
    if problem:
        return _fail(problem)
    from mmstudio.gui.shell.app import run

    return run(model=args.model, device=args.device)


def _run_predict(args) -> int:
    from mmstudio.inputs import InputError
    from mmstudio.result import NonFiniteAnalysisError

    if not (args.image or args.text is not None or args.text_file or args.audio):
        return _fail("give at least one of --image, --text, --text-file or --audio")
    try:
        options = _generation_options(args)  # before the model loads: a typo fails fast
        from mmstudio.analysis import load_analyzer
        from mmstudio.inputs import make_sample
        from mmstudio.inputs.text import NO_TEXT

        text = Path(args.text_file) if args.text_file else args.text
        sample = make_sample(image=args.image, text=text, audio=args.audio)
        if text is not None and not sample.text:
            source = Path(args.text_file).name if args.text_file else "--text"
            return _fail(f"{source}: {NO_TEXT}")
        analyzer = load_analyzer(
            args.model, _device(args.device), labels=args.labels, allow_download=args.allow_download
        )
        if analyzer.generates:
            return _predict_answer(args, analyzer, sample, options)
        given = _given_generation_options(args)
        if given:
            return _fail(
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
        return _fail(str(error))
    except NonFiniteAnalysisError:
        return _fail("the model's output is not finite (NaN or infinity): its weights are broken")
    if args.heatmaps:
        from mmstudio.explain.render import write_heatmap_pngs

        written = _write_files(write_heatmap_pngs, analysis, sample, args.heatmaps)
        if written is None:
            return EXIT_BAD_INPUT
        if not args.json:
            for path in written:
                print(f"wrote {path}")
    print(report)
    return 0


def _write_files(writer, analysis, sample, folder) -> list[Path] | None:
    """``writer(analysis, sample, folder)``'s files, or None after saying why none was written."""
    try:
        return writer(analysis, sample, folder)
    except OSError as error:
        where = f" ({Path(error.filename).name})" if error.filename else ""
        _fail(
            f"could not write the heatmaps to {folder}{where}: "
            f"{error.strerror or error}; none of them was written"
        )
        return None


# The decoding options by their flags; a classifier refuses any that was given.
_GENERATION_FLAGS = {
    "max_new_tokens": "--max-new-tokens",
    "sample": "--sample",
    "seed": "--seed",
    "temperature": "--temperature",
    "top_p": "--top-p",
    "contrastive": "--contrastive",
}
_SAMPLING_ONLY = ("seed", "temperature", "top_p")


def _given_generation_options(args) -> list[str]:
    return [flag for name, flag in _GENERATION_FLAGS.items() if getattr(args, name) is not None]


def _generation_options(args):
    """The decoding options the flags ask for (an InputError for values out of range)."""
    from mmstudio.inputs import InputError
    from mmstudio.models.generative.options import GenerationOptions

    if not args.sample:
        shaping = [_GENERATION_FLAGS[n] for n in _SAMPLING_ONLY if getattr(args, n) is not None]
        if shaping:
            raise InputError(
                f"{', '.join(shaping)}: only used when sampling; add --sample (without it the "
                "answer is decoded greedily)"
            )
    chosen = {
        "max_new_tokens": args.max_new_tokens,
        "do_sample": args.sample,
        "seed": args.seed,
        "temperature": args.temperature,
        "top_p": args.top_p,
        "contrastive": args.contrastive,
    }
    return GenerationOptions(**{k: v for k, v in chosen.items() if v is not None})


def _predict_answer(args, analyzer, sample, options) -> int:
    """A generative model's answer: streamed to the terminal token by token, then its
    explanation; with ``--json`` only the analysis as JSON. The first Ctrl+C stops the
    generation between two tokens (a second one stops whatever runs); either way the
    command ends with status 130 and no traceback."""
    import signal

    stop = _StopOnInterrupt()
    stream = None if args.json else _AnswerStream(analyzer.model)
    previous = signal.signal(signal.SIGINT, stop.interrupt)
    try:
        analysis = analyzer.generate(
            sample,
            options,
            on_token=None if stream is None else stream.add,
            should_stop=stop.requested,
        )
    except KeyboardInterrupt:
        analysis = None
    finally:
        signal.signal(signal.SIGINT, previous)
    if stream is not None:
        stream.end()
    if analysis is None or stop.requested():
        count = len(analysis.answer_tokens) if analysis is not None else None
        tokens = "" if count is None else f" after {count} token{'s' * (count != 1)}"
        print(f"mmstudio: stopped{tokens}", file=sys.stderr)
        return EXIT_INTERRUPTED
    written = []
    if args.heatmaps:
        from mmstudio.explain.answer_render import write_answer_files

        written = _write_files(write_answer_files, analysis, sample, args.heatmaps)
        if written is None:
            return EXIT_BAD_INPUT
    if args.json:
        print(analysis.to_json())
        return 0
    print()
    print(format_answer_summary(analysis, args.top))
    for path in written:
        print(f"wrote {path}")
    if args.heatmaps and not any(p.suffix == ".png" for p in written):
        print("Note: the model gives no maps of the answer, so only its JSON was written")
    return 0


class _StopOnInterrupt:
    """SIGINT while a generation runs: the first asks it to stop between tokens, a second
    interrupts whatever runs (loading, the teacher-forced explanation)."""

    def __init__(self) -> None:
        self._requested = False

    def interrupt(self, signum, frame) -> None:
        if self._requested:
            raise KeyboardInterrupt
        self._requested = True

    def requested(self) -> bool:
        return self._requested


class _AnswerStream:
    """Prints the answer as its tokens come. Each step decodes the whole answer so far and
    prints what it adds, so a character split over two byte-level tokens prints once whole
    (held back while the decoded text ends in an incomplete character)."""

    def __init__(self, model) -> None:
        self.model = model
        self.ids: list[int] = []
        self.printed = ""

    def add(self, token: int) -> None:
        self.ids.append(token)
        text = self.model.decode(self.ids)
        if text.endswith("\ufffd") or not text.startswith(self.printed):
            return
        sys.stdout.write(text[len(self.printed) :])
        sys.stdout.flush()
        self.printed = text

    def end(self) -> None:
        text = self.model.decode(self.ids)
        rest = text[len(self.printed) :] if text.startswith(self.printed) else ""
        sys.stdout.write(rest + "\n")
        sys.stdout.flush()


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


_FINISHED = {
    "eos": "the model ended it",
    "length": "it reached --max-new-tokens",
    "stopped": "stopped",
}


def format_answer_summary(analysis, top: int = 5) -> str:
    """A generative model's explained answer, as the lines printed after the streamed answer."""
    import numpy as np

    count = len(analysis.answer_tokens)
    reason = _FINISHED.get(analysis.finished, analysis.finished)
    lines = [
        f"Answer: {count} token{'s' * (count != 1)} ({reason})",
        f"Model: {analysis.model_name} on {analysis.device}, {analysis.compute_dtype}; "
        f"inputs: {', '.join(analysis.present)}",
    ]
    if analysis.answer_shapley is not None and count:
        values = analysis.token_coalition_logprobs.sum(1)
        lines += [
            "",
            "Modality contributions (exact Shapley, log-probability of the whole answer; an "
            "absent modality is removed from the chat template):",
            f"  {'base (no input)':<16} {values[0]:+.3f}",
        ]
        for modality, value in analysis.shapley_of().items():
            lines.append(f"  {modality:<16} {value:+.3f}")
        lines.append(f"  {'= full input':<16} {values[-1]:+.3f}")
        lines += ["", "Tokens that rely most on each modality (Shapley value of the token):"]
        for modality in analysis.present:
            column = analysis.token_shapley[:, analysis.modalities.index(modality)]
            order = np.argsort(-column, kind="stable")[:top]
            shown = ", ".join(
                f"{analysis.answer_tokens[t].strip() or repr(analysis.answer_tokens[t])} "
                f"{column[t]:+.3f}"
                for t in order
            )
            lines.append(f"  {modality:<16} {shown}")
    if analysis.map_methods:
        methods = ", ".join(f"{m} ({how})" for m, how in analysis.map_methods.items())
        lines.append(f"\nMaps of every token: {methods}; --heatmaps DIR writes the answer's")
    for left_out, answer in analysis.contrastive_answers.items():
        lines.append(f"Without the {left_out}: {answer}")
    for note in analysis.notes:
        lines.append(f"Note: {note}")
    timings = analysis.timings_ms
    lines.append(
        f"\nGeneration took {timings.get('generate', 0.0):.1f} ms, the whole analysis "
        f"{timings.get('total', 0.0):.1f} ms"
    )
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
