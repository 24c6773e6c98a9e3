"""Live mode under a 30 fps VGA stream: analysis rate, end-to-end latency, dropped frames and how
long the GUI event loop stalls.

Usage: python benchmarks/live.py [--seconds 30] [--fps 30] [--model NAME|DIR] [--no-write]
Writes the "Live mode" section of BENCHMARKS.md.

Input: synthetic 640x480 YUV420P QVideoFrames (the layout webcams and decoders hand Qt), a new
frame every tick of a precise QTimer, pushed into the same QVideoSink a QCamera's capture session
would feed; a timer gives a steadier 30 fps than a media player on a shared 2-core machine. The
audio window comes from a stand-in microphone that repeats a spoken word (espeak-ng when
available) every second, so the gate stays open and every analysis has all three modalities:
the worst case. The text is a fixed sentence.

Stall: a 10 ms PreciseTimer heartbeat on the GUI thread; a stall is how much later than 10 ms
each tick came. Latency: from the sink delivering a frame to the result being drawn.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QSize, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QFont, QImage, QPainter  # noqa: E402
from PySide6.QtMultimedia import QVideoFrame, QVideoFrameFormat  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.report import write_section  # noqa: E402
from mmstudio.audio import GatedWindow  # noqa: E402
from mmstudio.gui.live import LivePanel  # noqa: E402
from mmstudio.gui.live.frames import frame_to_pil  # noqa: E402
from mmstudio.inputs import InputError  # noqa: E402
from mmstudio.models.registry import get_entry, get_model  # noqa: E402
from mmstudio.timing import timed_ms  # noqa: E402

TEXT = "I think it is a seven"
TARGET_RATE = 25.0
TARGET_P95_MS = 100.0
TARGET_STALL_P99_MS = 16.0


# ---- inputs --------------------------------------------------------------------------------------


def _load_note(before: float, after: float) -> str:
    """Say so when other work competed for the CPU: then the figures are pessimistic."""
    cores = os.cpu_count() or 1
    if max(before, after) > 0.5 * cores:
        return f" (other jobs shared this machine's {cores} cores)"
    return " (a quiet machine)"


def yuv420p_planes(image: QImage) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.601 limited-range Y, U, V planes of an RGB image, as a camera's decoder would give."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = rgb.width(), rgb.height()
    rows = np.frombuffer(rgb.constBits(), np.uint8, count=rgb.bytesPerLine() * height)
    pixels = (
        rows.reshape(height, rgb.bytesPerLine())[:, : width * 3]
        .reshape(height, width, 3)
        .astype(np.float32)
    )
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b

    def half(plane):
        return plane.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))

    return tuple(np.clip(p, 0, 255).astype(np.uint8) for p in (y, half(u), half(v)))


def digit_image(digit: int, width: int, height: int) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(236, 232, 224))
    painter = QPainter(image)
    font = QFont()
    font.setPixelSize(int(height * 0.7))
    painter.setFont(font)
    painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter, str(digit))
    painter.end()
    return image


class SyntheticCamera:
    """A fresh YUV420P QVideoFrame per tick: the frames are never shared, so no conversion is
    cached between them, as with a real camera."""

    def __init__(self, sink, fps: float, width: int, height: int) -> None:
        self.sink = sink
        self.format = QVideoFrameFormat(
            QSize(width, height), QVideoFrameFormat.PixelFormat.Format_YUV420P
        )
        self.planes = [yuv420p_planes(digit_image(d, width, height)) for d in range(10)]
        self.sent = 0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(round(1000 / fps))
        self.timer.timeout.connect(self.tick)

    def make_frame(self, index: int) -> QVideoFrame:
        frame = QVideoFrame(self.format)
        frame.map(QVideoFrame.MapMode.WriteOnly)
        for plane, pixels in enumerate(self.planes[(index // 30) % 10]):
            stride = frame.bytesPerLine(plane)
            target = np.frombuffer(frame.bits(plane), np.uint8, count=stride * pixels.shape[0])
            target.reshape(pixels.shape[0], stride)[:, : pixels.shape[1]] = pixels
        frame.unmap()
        frame.setStartTime(int(index * self.timer.interval() * 1000))
        return frame

    def tick(self) -> None:
        self.sink.setVideoFrame(self.make_frame(self.sent))
        self.sent += 1


class LoopedVoice:
    """Stands in for a microphone: one spoken word every second, at 16 kHz."""

    sample_rate = 16000

    def __init__(self) -> None:
        word = spoken_word()
        period = np.zeros(self.sample_rate, np.float32)
        period[: min(len(word), len(period))] = word[: len(period)]
        self.loop = np.tile(period, 4)
        self.started = time.perf_counter()
        self.source = "espeak-ng 'seven'" if shutil.which("espeak-ng") else "a synthetic vowel"

    def latest(self, count: int) -> np.ndarray:
        offset = int((time.perf_counter() - self.started) * self.sample_rate) % self.sample_rate
        end = offset + 2 * self.sample_rate
        return self.loop[end - count : end].copy()

    def problem(self) -> None:
        return None

    def stop(self) -> None:
        pass


def spoken_word() -> np.ndarray:
    if shutil.which("espeak-ng"):
        import soundfile

        from mmstudio.inputs import audio_from_array

        with tempfile.TemporaryDirectory() as folder:
            wav = Path(folder) / "seven.wav"
            subprocess.run(["espeak-ng", "-w", str(wav), "seven"], check=True, capture_output=True)
            samples, rate = soundfile.read(wav, dtype="float32")
        return audio_from_array(samples, rate).samples
    t = np.arange(int(0.5 * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * 220 * t) * np.hanning(len(t))).astype(np.float32)


def model_spec(name: str | None, folder: Path) -> tuple[str, str]:
    if name:
        return name, f"`{name}`"
    reason = "the shipped weights are missing"
    if get_entry("digits").available:
        try:
            get_model("digits", "cpu")
            return "digits", "`digits` (shipped weights)"
        except InputError as error:
            reason = f"the shipped weights did not load: {error}"
    import torch

    from mmstudio.models import FusionConfig, FusionNet, save_checkpoint

    torch.manual_seed(0)
    save_checkpoint(FusionNet(FusionConfig(labels=[str(i) for i in range(10)])), folder)
    return str(folder), f"default-size FusionNet with random weights ({reason})"


# ---- measuring -----------------------------------------------------------------------------------


class Heartbeat:
    def __init__(self, interval_ms: int = 10) -> None:
        self.interval_s = interval_ms / 1000
        self.stalls_ms: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.beat)
        self.last = 0.0

    def start(self) -> None:
        self.last = time.perf_counter()
        self.timer.start()

    def beat(self) -> None:
        now = time.perf_counter()
        self.stalls_ms.append(max(0.0, (now - self.last - self.interval_s) * 1000))
        self.last = now


def wait(app: QApplication, seconds: float) -> None:
    # A local loop: app.quit() would also close every window, and a hidden view paints nothing.
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def display_cost_ms(camera: SyntheticCamera, runs: int = 100) -> tuple[float, float]:
    """GUI thread: painting one new frame (conversion included); worker: converting one for the model."""
    frames = [camera.make_frame(i) for i in range(runs)]
    canvas = QImage(camera.format.frameSize(), QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(canvas)
    started = time.perf_counter()
    for frame in frames:
        painter.drawImage(canvas.rect(), frame.toImage())
    display = (time.perf_counter() - started) / runs * 1000
    painter.end()
    frames = [camera.make_frame(i) for i in range(runs)]
    started = time.perf_counter()
    for frame in frames:
        frame_to_pil(frame)
    return display, (time.perf_counter() - started) / runs * 1000


def analyze_only_ms(
    spec: str, voice: LoopedVoice, camera: SyntheticCamera, runs: int = 40
) -> float:
    """Median time of Analyzer.analyze alone on one live-like sample, with the analysis
    thread's torch thread count: the ceiling the model itself puts on the analysis rate."""
    import torch

    from mmstudio.analysis import load_analyzer
    from mmstudio.gui.service.model_host import analysis_threads
    from mmstudio.inputs import audio_from_array, make_sample

    before = torch.get_num_threads()
    torch.set_num_threads(analysis_threads() or before)
    try:
        analyzer = load_analyzer(spec, "cpu")
        sample = make_sample(
            image=frame_to_pil(camera.make_frame(0)),
            text=TEXT,
            audio=audio_from_array(voice.latest(24000), voice.sample_rate),
        )
        times = timed_ms(lambda: analyzer.analyze(sample), runs)
    finally:
        torch.set_num_threads(before)
    return float(np.median(times))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--size", default="640x480")
    parser.add_argument(
        "--model", default=None, help="model name or checkpoint folder (default: digits)"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print the figures, leave BENCHMARKS.md alone"
    )
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="mmstudio-live-bench-"))
    spec, model_text = model_spec(args.model, folder / "random")

    panel = LivePanel(lambda: TEXT, spec)
    panel.resize(1100, 600)
    panel.show()
    session = panel.session
    session.camera_choice = None  # frames come from the synthetic camera through the same sink
    session.microphone_choice = None
    latencies: list[float] = []
    results: list = []
    session.result_shown.connect(
        lambda result, latency: (results.append(result), latencies.append(latency))
    )

    camera = SyntheticCamera(session.grabber.sink, args.fps, width, height)
    display_ms, model_frame_ms = display_cost_ms(camera)
    voice = LoopedVoice()
    model_ms = analyze_only_ms(spec, voice, camera)
    session.start()
    session.microphone = voice
    session.audio_window = GatedWindow(voice, session.window_seconds, session.gate)
    camera.timer.start()
    deadline = time.perf_counter() + 120
    while not any(r.analysis is not None for r in results) and time.perf_counter() < deadline:
        wait(app, 0.2)  # the model loads in the worker thread
    wait(app, args.warmup)

    load_before = os.getloadavg()
    heartbeat = Heartbeat()
    first_result, frames_before, dropped_before = (
        len(results),
        session.frames_captured,
        session.frames_dropped,
    )
    latencies.clear()
    painted_before = panel.view.frame_item.paints
    started, gui_cpu_before = time.perf_counter(), time.thread_time()
    heartbeat.start()
    wait(app, args.seconds)
    elapsed = time.perf_counter() - started
    gui_busy = (time.thread_time() - gui_cpu_before) / elapsed
    heartbeat.timer.stop()
    camera.timer.stop()
    load_after = os.getloadavg()
    painted = panel.view.frame_item.paints - painted_before
    measured = [r for r in results[first_result:] if r.analysis is not None]
    captured = session.frames_captured - frames_before
    dropped = session.frames_dropped - dropped_before
    present = sorted({"+".join(r.analysis.present) for r in measured})
    worker_ms = [r.worker_ms for r in measured]
    problems = dict(session._problems)
    panel.shutdown()
    panel.close()
    shutil.rmtree(folder, ignore_errors=True)

    if not measured or not latencies:
        print(f"no live analyses ran: {problems or 'no results arrived'}", file=sys.stderr)
        return 1
    rate = len(measured) / elapsed
    p50, p95 = (float(np.percentile(latencies, q)) for q in (50, 95))
    stalls = np.array(heartbeat.stalls_ms)
    stall_p99, stall_max = float(np.percentile(stalls, 99)), float(stalls.max())
    input_fps = captured / elapsed
    met = {
        "rate": rate >= TARGET_RATE,
        "p95": p95 < TARGET_P95_MS,
        "stall": stall_p99 < TARGET_STALL_P99_MS,
    }

    def verdict(key):
        return "met" if met[key] else "**not met**"

    body = f"""
Model: {model_text}, on {measured[0].analysis.device if measured else "?"}; live mode runs on the
analysis service's one model in its worker thread (on a CPU with 4 cores or fewer, torch gets one core fewer than
there are, so the GUI thread keeps one).
Input: {width}x{height} YUV420P frames at {args.fps:g} fps from a precise QTimer into the live
QVideoSink (measured {input_fps:.1f} fps), text "{TEXT}", and a 1.5 s audio window from a stand-in
microphone repeating {voice.source} every second (gate open: modalities analysed: {", ".join(present)}).
{args.seconds:g} s measured after {args.warmup:g} s of warm-up. Load average (1 min) before/after:
{load_before[0]:.2f} / {load_after[0]:.2f}{_load_note(load_before[0], load_after[0])}.

| what | value | target |
|---|---:|---|
| sustained analysis rate | **{rate:.1f} analyses/s** ({len(measured)} in {elapsed:.1f} s) | >= {TARGET_RATE:g}/s: {verdict("rate")} |
| end-to-end latency p50 (frame delivered -> result drawn) | {p50:.1f} ms | |
| end-to-end latency p95 | **{p95:.1f} ms** | < {TARGET_P95_MS:g} ms: {verdict("p95")} |
| frames dropped (replaced while the model was busy) | {dropped} of {captured} ({100 * dropped / max(captured, 1):.0f}%) | |
| event-loop stall p99 (10 ms heartbeat) | **{stall_p99:.1f} ms** | < {TARGET_STALL_P99_MS:g} ms: {verdict("stall")} |
| event-loop stall max | {stall_max:.1f} ms | |
| worker time per analysis, median (frame -> PIL, audio window, analyze) | {np.median(worker_ms):.1f} ms | |
| `analyze()` alone, same sample, no stream running (median) | {model_ms:.1f} ms (ceiling {1000 / model_ms:.0f}/s) | |
| GUI thread CPU time (drawing, per-frame bookkeeping, results) | {100 * gui_busy:.0f}% of one core | |
| frames painted | {painted / elapsed:.1f} /s | |
| GUI thread: painting one new frame, YUV conversion included | {display_ms:.2f} ms | |
| worker: one frame converted for the model (320 px PIL) | {model_frame_ms:.2f} ms | |

Dropping is by design (latest wins): the model analyses the newest frame each time it is free,
so the rate is the model's, not the camera's, and latency does not grow with time.
"""
    print(body)
    if not args.no_write:
        write_section("Live mode", body, "benchmarks/live.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
