"""Live mode with a generative model: how many explained answers per second, and the latency from
a camera frame's capture to its explained answer on screen.

Usage: python benchmarks/live_generation.py [--model NAME|DIR] [--seconds 30] [--fps 30]
       [--question TEXT] [--no-write]
Writes the "Live mode with a generative model" section of BENCHMARKS.md.

The model is digits-chat (registered as ``digits-chat``) unless ``--model`` names another name
or a model folder. The stream is the live benchmark's (benchmarks/live.py): 640x480 YUV420P
frames of a written digit from a precise QTimer into the live QVideoSink, a stand-in microphone
repeating a spoken number every second (espeak-ng when available), and the typed question. Each
answer is the typed question about the newest frame and audio window, generated and then
explained per token (every coalition teacher-forced, exact Shapley values, the default maps):
the GenerationAnalysis the single-shot path gives. One answer is out at a time; frames that
come meanwhile are skipped.

Latency: from the sink delivering the frame an answer is about to the explained answer being
drawn. Rate: explained answers drawn per second over the measured seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.live import (  # noqa: E402
    Heartbeat,
    LoopedVoice,
    SyntheticCamera,
    _load_note,
    wait,
)
from benchmarks.report import write_section  # noqa: E402
from mmstudio.audio import GatedWindow  # noqa: E402
from mmstudio.gui.live import LivePanel  # noqa: E402
from mmstudio.gui.live.frames import MODEL_MAX_SIDE, frame_to_pil  # noqa: E402
from mmstudio.inputs import InputError  # noqa: E402
from mmstudio.models.generative.options import GenerationOptions  # noqa: E402
from mmstudio.timing import timed_ms  # noqa: E402

TITLE = "Live mode with a generative model"
SCRIPT = "benchmarks/live_generation.py"
DEFAULT_MODEL = "digits-chat"
QUESTION = "What is the sum of the image and the audio?"


def model_text(spec: str) -> str:
    folder = Path(spec)
    if not folder.is_dir():
        return f"`{spec}`"
    weights = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    return f"the model folder `{folder.name}` ({weights / 2**20:.1f} MiB of weights)"


def single_shot_ms(spec: str, voice: LoopedVoice, camera: SyntheticCamera, options, runs: int):
    """Median ms of one explained answer through ``Analyzer.generate`` with no stream running,
    on a live-like sample, with the analysis thread's torch thread count: the ceiling the model
    puts on the live rate. Also the answer, its token count and the parts' medians."""
    import torch

    from mmstudio.analysis import load_analyzer
    from mmstudio.analysis.live import analyze_live
    from mmstudio.gui.service.model_host import analysis_threads
    from mmstudio.inputs import audio_from_array, make_sample

    before = torch.get_num_threads()
    torch.set_num_threads(analysis_threads() or before)
    try:
        analyzer = load_analyzer(spec, "cpu")
        sample = make_sample(
            image=frame_to_pil(camera.make_frame(0), MODEL_MAX_SIDE),
            text=QUESTION,
            audio=audio_from_array(voice.latest(24000), voice.sample_rate),
        )
        answers = []
        times = timed_ms(lambda: answers.append(analyze_live(analyzer, sample, options)), runs)
    finally:
        torch.set_num_threads(before)
    return float(np.median(times)), answers[-1]


def part_medians(analyses) -> dict[str, float]:
    parts = ("first_token", "generate", "coalitions", "maps", "total")
    return {
        part: statistics.median(a.timings_ms.get(part, 0.0) for a in analyses) for part in parts
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name or folder")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=10, help="single-shot answers timed")
    parser.add_argument(
        "--no-write", action="store_true", help="print the figures, leave BENCHMARKS.md alone"
    )
    args = parser.parse_args(argv)
    options = GenerationOptions(max_new_tokens=args.max_new_tokens)

    app = QApplication.instance() or QApplication([])
    panel = LivePanel(lambda: args.question, args.model, generation_options=lambda: options)
    panel.resize(1100, 600)
    panel.show()
    session = panel.session
    session.camera_choice = None  # frames come from the synthetic camera through the same sink
    session.microphone_choice = None
    results: list = []
    session.result_shown.connect(lambda result, latency: results.append((result, latency)))

    camera = SyntheticCamera(session.grabber.sink, args.fps, 640, 480)
    voice = LoopedVoice()
    try:
        ceiling_ms, single = single_shot_ms(args.model, voice, camera, options, args.runs)
    except InputError as error:
        panel.shutdown()
        print(f"{args.model}: {error} (name a model folder with --model DIR)", file=sys.stderr)
        return 1
    session.start()
    session.microphone = voice
    session.audio_window = GatedWindow(voice, session.window_seconds, session.gate)
    camera.timer.start()
    deadline = time.perf_counter() + 180
    while not any(r.analysis is not None for r, _ in results) and time.perf_counter() < deadline:
        wait(app, 0.2)  # the model loads in the worker thread
    wait(app, args.warmup)

    load_before = os.getloadavg()
    heartbeat = Heartbeat()
    first = len(results)
    frames_before, dropped_before = session.frames_captured, session.frames_dropped
    skipped_before = session.ticks_skipped
    started = time.perf_counter()
    heartbeat.start()
    wait(app, args.seconds)
    elapsed = time.perf_counter() - started
    heartbeat.timer.stop()
    camera.timer.stop()
    load_after = os.getloadavg()
    measured = [(r, latency) for r, latency in results[first:] if r.analysis is not None]
    captured = session.frames_captured - frames_before
    dropped = session.frames_dropped - dropped_before
    skipped = session.ticks_skipped - skipped_before
    problems = dict(session._problems)
    panel.shutdown()
    panel.close()

    if not measured:
        print(f"no live answers came: {problems or 'no results arrived'}", file=sys.stderr)
        return 1
    analyses = [r.analysis for r, _ in measured]
    latencies = [latency for _, latency in measured]
    rate = len(measured) / elapsed
    p50, p95 = (float(np.percentile(latencies, q)) for q in (50, 95))
    parts = part_medians(analyses)
    tokens = statistics.median(a.token_count for a in analyses)
    explained = sum(a.token_shapley is not None for a in analyses)
    present = sorted({"+".join(a.present) for a in analyses})
    stalls = np.array(heartbeat.stalls_ms)
    shown_answer = statistics.mode(a.answer for a in analyses)
    body = f"""
Model: {model_text(args.model)}, on {analyses[0].device}, {analyses[0].parameter_dtype}; live
mode runs on the analysis service's one model in its worker thread.
Input: 640x480 YUV420P frames of a written digit at {args.fps:g} fps from a precise QTimer into
the live QVideoSink (measured {captured / elapsed:.1f} fps), a {session.window_seconds:g} s audio
window from a stand-in microphone repeating {voice.source} every second, and the typed question
"{args.question}" (modalities answered from: {", ".join(present)}); greedy, `max_new_tokens`
{args.max_new_tokens}. {args.seconds:g} s measured after {args.warmup:g} s of warm-up. Load
average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f}{_load_note(load_before[0], load_after[0])}.
Most frequent answer: "{shown_answer}".

| what | value |
|---|---:|
| live rate (explained answers drawn per second) | **{rate:.2f} answers/s** ({len(measured)} in {elapsed:.1f} s) |
| latency, frame captured -> explained answer drawn, median | **{p50:.0f} ms** |
| latency p95 | {p95:.0f} ms |
| answers explained per token (exact Shapley over every coalition, maps) | {explained} of {len(measured)} |
| tokens per answer, median | {tokens:g} |
| worker, per answer (median): time to first token | {parts["first_token"]:.0f} ms |
| worker: generation | {parts["generate"]:.0f} ms |
| worker: every coalition teacher-forced (Shapley) | {parts["coalitions"]:.0f} ms |
| worker: per-token maps | {parts["maps"]:.0f} ms |
| worker: whole answer, generated and explained | {parts["total"]:.0f} ms |
| one explained answer, single shot, no stream running (median of {args.runs}) | {ceiling_ms:.0f} ms (ceiling {1000 / ceiling_ms:.2f}/s) |
| frames skipped while an answer was out (not queued) | {dropped} of {captured} ({100 * dropped / max(captured, 1):.0f}%); {skipped} ticks |
| event-loop stall p99 / max (10 ms heartbeat) | {float(np.percentile(stalls, 99)):.1f} / {float(stalls.max()):.1f} ms |

One answer is out at a time: the frames and ticks that come while it is generated and explained
are skipped, never queued, so each answer is about the newest frame when it began, and the
latency is about one answer's worker time (plus up to one frame interval), however long the
stream runs. The single-shot answer of the same sample said "{single.answer}".
"""
    print(body)
    if not args.no_write:
        write_section(TITLE, body, SCRIPT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
