"""python -m mmstudio.gui [--model M] [--device D] [scripted-launch options]"""

from __future__ import annotations

import argparse
import sys

from mmstudio.gui.shell.launch import LaunchOptions


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        return int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT, such as 1024x700, not {text!r}"
        ) from None


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mmstudio.gui", description="Open the mmstudio window."
    )
    parser.add_argument("--model", help="a registered model name or a checkpoint folder")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--example", help="load a named example from the Examples menu")
    parser.add_argument("--image", help="an image file to load")
    parser.add_argument("--text", help="text to type into the text input")
    parser.add_argument("--audio", help="an audio file to load")
    parser.add_argument(
        "--then-open",
        metavar="FILE",
        help="open this file after the first analysis (e.g. a broken one)",
    )
    parser.add_argument(
        "--dataset",
        metavar="DIR",
        help="analyse this dataset folder in the Dataset view once the model is ready "
        "(with --screenshot: the picture is taken when it has finished)",
    )
    parser.add_argument(
        "--screenshot",
        metavar="PNG",
        help="save a screenshot of the window after the analysis, then quit",
    )
    parser.add_argument(
        "--quit-after-analysis", action="store_true", help="quit once the first analysis is shown"
    )
    parser.add_argument("--size", type=_size, help="window size, e.g. 1024x700")
    parser.add_argument(
        "--timings", action="store_true", help="print timestamps of start-up milestones"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from mmstudio.system import xcb_problem

    # Before Qt loads its platform plugin, which would abort the process with a long trace.
    problem = xcb_problem()
    if problem:
        print(f"mmstudio: {problem}", file=sys.stderr)
        return 2
    from mmstudio.gui.shell.app import run

    launch = LaunchOptions(
        example=args.example,
        image=args.image,
        text=args.text,
        audio=args.audio,
        then_open=args.then_open,
        dataset=args.dataset,
        give_up_seconds=600.0 if args.dataset else 120.0,
        screenshot=args.screenshot,
        quit_after_analysis=args.quit_after_analysis,
        size=args.size,
        timings=args.timings or LaunchOptions.from_environment().timings,
    )
    return run(args.model, args.device, argv=sys.argv[:1], launch=launch)


if __name__ == "__main__":
    raise SystemExit(main())
