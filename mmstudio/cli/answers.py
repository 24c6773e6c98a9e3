"""The command line's side of a generative model: decoding options from the flags, the answer
streamed to the terminal, Ctrl+C between tokens, and the explained answer's summary."""

from __future__ import annotations

import sys

from mmstudio.cli.common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, write_files

# The decoding options by their flags; a classifier refuses any that was given.
_GENERATION_FLAGS = {
    "max_new_tokens": "--max-new-tokens",
    "sample": "--sample",
    "seed": "--seed",
    "temperature": "--temperature",
    "top_p": "--top-p",
    "contrastive": "--contrastive",
    "maps": "--maps",
}
_SAMPLING_ONLY = ("seed", "temperature", "top_p")


def given_generation_options(args) -> list[str]:
    return [flag for name, flag in _GENERATION_FLAGS.items() if getattr(args, name) is not None]


def generation_options(args):
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
        "map_method": args.maps,
    }
    return GenerationOptions(**{k: v for k, v in chosen.items() if v is not None})


def predict_answer(args, analyzer, sample, options) -> int:
    """A generative model's answer: streamed to the terminal token by token, then its
    explanation; with ``--json`` only the analysis as JSON. The first Ctrl+C stops the
    generation between two tokens (a second one stops whatever runs); either way the
    command ends with status 130 and no traceback."""
    import signal

    stop = _StopOnInterrupt()
    stream = None if args.json else AnswerStream(analyzer.model)
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

        written = write_files(write_answer_files, analysis, sample, args.heatmaps)
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


class AnswerStream:
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
