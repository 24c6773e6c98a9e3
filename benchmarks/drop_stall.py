"""How long the window's event loop stalls, and how much memory it takes, when the largest
files the corpus accepts are dropped on it.

For each file a fresh process opens the real main window with the built-in model, draws one
small analysis first (the views' first drawing is a one-time cost the UI benchmark reports),
clears it, then starts a 10 ms heartbeat QTimer and drops the file on the window as a real
QDropEvent. The measured phase runs until the file's analysis is on screen plus 300 ms. Every
heartbeat tick later than 10 ms is a stall; we report the longest, the time from drop to
result and the process's resident peak (VmHWM, the whole process: Qt, torch and the model
included).

Targets: longest stall under 50 ms, peak memory under 2 GB. The results replace the "Drop
stall" section of BENCHMARKS.md.

    python benchmarks/drop_stall.py [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402
from benchmarks.ui_responsiveness import (  # noqa: E402
    HEARTBEAT_MS,
    _intervals_ms,
    _percentile,
    _sorted_stalls,
)

# The largest accepted files of the bad-input corpus, by case name.
CASES = (
    "8000 x 8000 JPEG",
    "6000 x 6000 JPEG",
    "1 GB WAV, 32 channels at 384 kHz",
    "10-minute 44.1 kHz stereo WAV",
)
# Not a file: the same window with nothing dropped, for what the machine's load alone costs.
IDLE = "nothing dropped (idle window, 5 s)"
IDLE_SECONDS = 5
TARGETS = {"max_stall_ms": 50.0, "peak_gb": 2.0}
SETTLE_MS = 300
TIMEOUT_S = 300


def measure(case_name: str, folder: Path) -> dict:
    """Runs in the child: build the case's file, drop it on a warmed-up window, measure."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from mmstudio.gui.shell.app import create_application
    from tests.badinput.corpus import load_cases
    from tests.badinput.files import digit_picture, save_picture
    from tests.badinput.run_cases import PeakMemory, status_bytes
    from tests.gui.helpers import drop, file_mime

    path = None
    if case_name != IDLE:
        case = next(case for case in load_cases() if case.name == case_name)
        case.build(folder)
        path = case.drop(folder)
    warm_up = save_picture(folder / "warm_up.png", digit_picture())

    app = create_application()
    from mmstudio.gui.shell.main_window import MainWindow

    window = MainWindow(None, "cpu")
    window.resize(1440, 900)
    window.show()
    memory = PeakMemory()
    shown: list[int] = []
    window.analysis_shown.connect(shown.append)

    def wait_for(condition, timeout_s: float = TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{case_name}: gave up waiting")
            app.processEvents()
            time.sleep(0.002)

    wait_for(lambda: window.presenter.model_info is not None)
    window.inputs.image_input.load_path(warm_up)
    wait_for(lambda: bool(shown))
    window.inputs.image_input.clear()
    wait_for(lambda: window.inputs.image_input.image is None)

    ticks: list[float] = []
    beat = QTimer()
    beat.setTimerType(Qt.TimerType.PreciseTimer)
    beat.setInterval(HEARTBEAT_MS)
    beat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    done = QEventLoop()
    before = len(shown)
    errors: list[str] = []
    window.inputs.image_input.error_occurred.connect(errors.append)
    window.inputs.audio_input.error_occurred.connect(errors.append)
    window.analysis_shown.connect(
        lambda _id: len(shown) > before and QTimer.singleShot(SETTLE_MS, done.quit)
    )
    QTimer.singleShot((IDLE_SECONDS if path is None else TIMEOUT_S) * 1000, done.quit)
    baseline = status_bytes("VmRSS")
    beat.start()
    started = time.perf_counter()
    if path is not None:
        QTimer.singleShot(0, lambda: drop(window, file_mime(path)))
    done.exec()
    beat.stop()
    result_s = None
    if len(shown) > before:
        result_s = time.perf_counter() - started - SETTLE_MS / 1000
    stalls = _sorted_stalls(_intervals_ms(ticks))
    window.close()
    return {
        "case": case_name,
        "file_mb": path.stat().st_size / 2**20 if path is not None else 0.0,
        "errors": errors,
        "result_s": result_s,
        "max_stall_ms": stalls[-1] if stalls else 0.0,
        "p99_stall_ms": _percentile(stalls, 99),
        "ticks": len(ticks),
        "baseline_gb": baseline / 2**30,
        "peak_gb": memory.peak() / 2**30,
    }


def run_child(case_name: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    env.setdefault("MMSTUDIO_SETTINGS_DIR", tempfile.mkdtemp(prefix="mmstudio-bench-settings-"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="mmstudio-drop-") as folder:
        command = [sys.executable, __file__, "--child", case_name, folder]
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=TIMEOUT_S + 120, cwd=ROOT
        )
    if result.returncode != 0:
        raise RuntimeError(f"{case_name}: the measuring process failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _verdict(value: float, target: float) -> str:
    return "met" if value < target else "**missed**"


def report(rows: list[dict]) -> str:
    load = os.getloadavg()[0]
    lines = [
        "Each file is a case of the bad-input corpus (`tests/badinput/`), created at run time and",
        "dropped as a real QDropEvent on the main window (built-in digits model, CPU) after one",
        "small analysis was drawn. Stall: how much later than its 10 ms period the GUI thread's",
        "heartbeat ticked, from the drop until the file's analysis was on screen (plus 300 ms);",
        "the idle row is the same window with nothing dropped: what the machine's load alone",
        "costs the heartbeat.",
        "Peak: the whole process's resident high-water mark (Qt, torch and the model included).",
        (
            f"The machine was quiet (load average {load:.1f} at the end)."
            if load < 2.0
            else f"The machine was shared with other jobs and loaded (load average {load:.1f} "
            "at the end), so the stalls are upper bounds for a quiet machine."
        ),
        "",
        "| file | size | drop to result | longest stall | p99 stall | peak memory |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        result = f"{row['result_s']:.2f} s" if row["result_s"] is not None else "–"
        lines.append(
            f"| {row['case']} | {row['file_mb']:,.0f} MB | {result} | "
            f"{row['max_stall_ms']:.1f} ms | {row['p99_stall_ms']:.1f} ms | "
            f"{row['peak_gb']:.2f} GB |"
        )
    dropped = [row for row in rows if row["case"] != IDLE]
    worst_stall = max(row["max_stall_ms"] for row in dropped)
    worst_peak = max(row["peak_gb"] for row in dropped)
    lines += [
        "",
        f"- Targets: longest stall under {TARGETS['max_stall_ms']:.0f} ms "
        f"({_verdict(worst_stall, TARGETS['max_stall_ms'])}: {worst_stall:.1f} ms); "
        f"peak memory under {TARGETS['peak_gb']:.0f} GB "
        f"({_verdict(worst_peak, TARGETS['peak_gb'])}: {worst_peak:.2f} GB).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-write", action="store_true", help="print, do not edit BENCHMARKS.md")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return 0
    rows = []
    for name in (IDLE, *CASES):
        rows.append(run_child(name))
        print(json.dumps(rows[-1]), flush=True)
    body = report(rows)
    print(body)
    if not args.no_write:
        write_section("Drop stall", body, "benchmarks/drop_stall.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
