"""Start-up: how long `mmstudio predict` takes beside a bare `import torch`, and how soon the
window shows its first analysis of an example after it appears.

1. predict: ``python -m mmstudio predict --image resources/samples/digit_3.png --json`` (the
   built-in digits model) and ``python -c "import torch"`` run as subprocesses, alternating,
   ``--rounds`` times each; wall time and CPU time (user + system, all threads) per run.
   Target: predict's median at most the bare import's median plus 0.7 s.
2. window: ``python -m mmstudio.gui --example "all agree: seven" --timings
   --quit-after-analysis`` offscreen, ``--launches`` times; the app prints when its window is
   first painted, when the model is ready and when the first analysis is on screen.
   Target: the first analysis at most 0.5 s after the window is shown (median).

With ``--before DIR`` (a checkout of the code before a change, e.g. made with ``git archive``)
every round also runs the same commands from that tree, so before and after meet the same load.
The results replace the "Start-up" section of BENCHMARKS.md unless ``--no-write``.

    python benchmarks/startup.py [--rounds 7] [--launches 5] [--before DIR] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402

IMAGE = "resources/samples/digit_3.png"
EXAMPLE = "all agree: seven"
PREDICT_MARGIN_S = 0.7
ANALYSIS_AFTER_WINDOW_S = 0.5
TORCH = [sys.executable, "-c", "import torch"]
PREDICT = [sys.executable, "-m", "mmstudio", "predict", "--image", IMAGE, "--json"]
WINDOW = [
    sys.executable,
    "-m",
    "mmstudio.gui",
    "--device",
    "cpu",
    "--example",
    EXAMPLE,
    "--timings",
    "--quit-after-analysis",
]


def _timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict:
    """Wall and CPU seconds of one subprocess, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    clock = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - clock
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed in {cwd}:\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "started": started, "stdout": result.stdout}


def predict_rounds(rounds: int, trees: dict[str, Path]) -> dict[str, list[dict]]:
    """Each round runs the bare import and predict in every tree, the order rotating from
    round to round so that no command always meets the same moment of the load."""
    commands = [("import torch", TORCH, ROOT)] + [
        (f"predict ({name})", PREDICT, tree) for name, tree in trees.items()
    ]
    runs: dict[str, list[dict]] = {label: [] for label, _, _ in commands}
    for round_ in range(rounds):
        shift = round_ % len(commands)
        for label, command, cwd in commands[shift:] + commands[:shift]:
            run = _timed(command, cwd)
            if command is PREDICT and '"predicted_index": 3' not in run["stdout"]:
                raise RuntimeError(f"predict in {cwd} did not answer 3:\n{run['stdout'][:500]}")
            runs[label].append(run)
    return runs


def window_launches(launches: int, trees: dict[str, Path]) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for launch in range(launches):
        names = list(trees)
        shift = launch % len(names)
        for name in names[shift:] + names[:shift]:
            env = {
                **os.environ,
                "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                "MMSTUDIO_SETTINGS_DIR": tempfile.mkdtemp(prefix="mmstudio-bench-settings-"),
            }
            run = _timed(WINDOW, trees[name], env)
            stamps = re.findall(r"^mmstudio-timing (\S+) (\S+) (\S+)$", run["stdout"], re.M)
            events = {event: float(wall) - run["started"] for event, wall, _ in stamps}
            events.update({f"{event}_cpu": float(cpu) for event, _, cpu in stamps})
            if "first_analysis" not in events or "window_shown" not in events:
                raise RuntimeError(f"the window in {trees[name]} printed {stamps}")
            events["gap"] = events["first_analysis"] - events["window_shown"]
            events["gap_cpu"] = events["first_analysis_cpu"] - events["window_shown_cpu"]
            runs[name].append(events)
    return runs


def _median(values) -> float:
    return statistics.median(list(values))


def _load() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def report(
    predict: dict[str, list[dict]], window: dict[str, list[dict]], load: tuple[str, str]
) -> str:
    torch_wall = _median(r["wall"] for r in predict["import torch"])
    lines = [
        f"Load average (1 / 5 / 15 min) at the start: {load[0]}; at the end: {load[1]}.",
        "",
        f"**`mmstudio predict`** (`--image {IMAGE} --json`, built-in digits model) beside a bare",
        f'`python -c "import torch"`, alternating, {len(predict["import torch"])} runs each '
        "(medians; min-max in brackets):",
        "",
        "| command | wall | CPU (user + sys) | wall minus `import torch` |",
        "|---|---:|---:|---:|",
    ]
    for label, runs in predict.items():
        walls = [r["wall"] for r in runs]
        extra = "" if label == "import torch" else f"{_median(walls) - torch_wall:+.2f} s"
        lines.append(
            f"| {label} | {_median(walls):.2f} s ({min(walls):.2f}-{max(walls):.2f}) "
            f"| {_median(r['cpu'] for r in runs):.2f} s | {extra} |"
        )
    after = predict.get("predict (after)") or next(
        runs for label, runs in predict.items() if label != "import torch"
    )
    margin = _median(r["wall"] for r in after) - torch_wall
    verdict = "met" if margin <= PREDICT_MARGIN_S else "NOT met"
    lines += [
        "",
        f"Target: predict at most `import torch` + {PREDICT_MARGIN_S} s: {verdict} "
        f"({margin:+.2f} s).",
    ]
    if window:
        lines += ["", *_window_lines(window)]
    return "\n".join(lines)


def _window_lines(window: dict[str, list[dict]]) -> list[str]:
    lines = [
        f'**Window** (`python -m mmstudio.gui --example "{EXAMPLE}" --timings '
        f"--quit-after-analysis`, offscreen, {len(next(iter(window.values())))} launches each; "
        "medians; seconds from the process start, CPU seconds of the process by then):",
        "",
        "| tree | window shown | model ready | first analysis | analysis after window (wall) "
        "| (CPU) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, runs in window.items():
        lines.append(
            f"| {name} | {_median(r['window_shown'] for r in runs):.2f} s "
            f"({_median(r['window_shown_cpu'] for r in runs):.2f} CPU) "
            f"| {_median(r['model_ready'] for r in runs):.2f} s "
            f"| {_median(r['first_analysis'] for r in runs):.2f} s "
            f"({_median(r['first_analysis_cpu'] for r in runs):.2f} CPU) "
            f"| {_median(r['gap'] for r in runs):.2f} s | {_median(r['gap_cpu'] for r in runs):.2f} s |"
        )
    runs = window.get("after") or next(iter(window.values()))
    gap = _median(r["gap"] for r in runs)
    verdict = "met" if gap <= ANALYSIS_AFTER_WINDOW_S else "NOT met"
    lines += [
        "",
        f"Target: first analysis at most {ANALYSIS_AFTER_WINDOW_S} s after the window shows: "
        f"{verdict} ({gap:.2f} s).",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a checkout of the code before the change")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--note", default="", help="a paragraph to add after the figures")
    args = parser.parse_args(argv)
    trees = {"after": ROOT}
    if args.before:
        trees = {"before": args.before.resolve(), "after": ROOT}
    load_start = _load()
    predict = predict_rounds(args.rounds, trees)
    window = window_launches(args.launches, trees) if args.launches else {}
    body = report(predict, window, (load_start, _load()))
    if args.note:
        body += "\n\n" + args.note.strip()
    print(body)
    if not args.no_write:
        write_section("Start-up", body, "benchmarks/startup.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
