"""The studio window while a dataset runs in the background lane: does it stay responsive, and
does a click on a row still answer at interactive speed?

A child process opens the real main window (offscreen) on the built-in model, starts a
dataset analysis of ``--records`` generated digits records through File ▸ Open Dataset's path
(``MainWindow.open_dataset``), and while it runs:

- a precise 10 ms QTimer in the GUI thread records every tick; a late tick is a stall;
- for the first half of the records nothing else happens: the stall target is about the
  dataset in the background, and a click's own work (decoding its files, drawing its
  analysis) would be counted against it;
- for the second half, every ``--click-every`` seconds a row of the results so far is opened
  the way a click does (the view's ``record_activated``), and the time until its analysis is
  on screen is measured; the stalls of this half are reported too.

Targets (issue 13): event-loop p99 stall under 16 ms, a row answered in under 100 ms.

    python benchmarks/dataset_gui.py [--records 3000] [--click-every 0.5] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.dataset_analysis import dataset_folder  # noqa: E402
from benchmarks.gui_harness import HEARTBEAT_MS, heartbeat, ready_window  # noqa: E402
from benchmarks.report import write_section  # noqa: E402

TARGETS = {"p99_stall_ms": 16.0, "click_ms": 100.0}
CACHE = ROOT / "benchmarks" / ".cache"


def measure(data: Path, click_every: float) -> dict:
    os.environ["MMSTUDIO_CACHE_DIR"] = tempfile.mkdtemp(prefix="mmstudio-bench-cache-")
    os.environ["MMSTUDIO_SETTINGS_DIR"] = tempfile.mkdtemp(prefix="mmstudio-bench-settings-")
    from PySide6.QtCore import QTimer

    app, window = ready_window("digits")
    ticks: list[float] = []
    beat = heartbeat(ticks)
    clicked_at: list[float] = []  # the click waiting for its analysis (only clicks analyse here)
    answered: list[float] = []
    started = [0.0]

    clicks_from = [float("inf")]  # when the second half began

    def click() -> None:
        job = window.dataset_mode.job
        if job is None or job.done or job.last is None or job.last.rows is None:
            return
        if job.last.done * 2 < job.last.total:
            return  # the first half: the dataset alone
        if clicks_from[0] == float("inf"):
            clicks_from[0] = time.perf_counter()
        record = job.last.rows.slice(0, 1).to_pylist()[0]
        clicked_at[:] = [time.perf_counter()]
        window.dataset_mode.view.record_activated.emit(record)

    def on_shown(_request_id: int) -> None:
        if clicked_at:
            answered.append((time.perf_counter() - clicked_at.pop()) * 1000.0)

    window.analysis_shown.connect(on_shown)
    clicker = QTimer()
    clicker.setInterval(int(click_every * 1000))
    clicker.timeout.connect(click)

    def begin() -> None:
        started[0] = time.perf_counter()
        window.open_dataset(data)
        job = window.dataset_mode.job
        job.finished.connect(lambda _p: app.quit())
        job.failed.connect(lambda _m: app.quit())

    beat.start()
    clicker.start()
    QTimer.singleShot(0, begin)
    app.exec()
    seconds = time.perf_counter() - started[0]
    beat.stop()
    clicker.stop()
    job = window.dataset_mode.job
    window.close()
    alone, clicking = _stalls(ticks, before=clicks_from[0]), _stalls(ticks, after=clicks_from[0])
    return {
        "records": job.last.done if job.last else 0,
        "seconds": seconds,
        "ticks": len(ticks),
        "p50_stall_ms": _percentile(alone, 50),
        "p99_stall_ms": _percentile(alone, 99),
        "max_stall_ms": alone[-1] if alone else 0.0,
        "clicking_p99_stall_ms": _percentile(clicking, 99),
        "clicking_max_stall_ms": clicking[-1] if clicking else 0.0,
        "clicks": len(answered),
        "click_median_ms": statistics.median(answered) if answered else float("nan"),
        "click_max_ms": max(answered) if answered else float("nan"),
    }


def _stalls(ticks: list[float], before: float = float("inf"), after: float = 0.0) -> list[float]:
    """Sorted lateness (ms) of the heartbeat ticks that fell between ``after`` and ``before``."""
    pairs = zip(ticks, ticks[1:], strict=False)
    return sorted(
        max(0.0, (b - a) * 1000.0 - HEARTBEAT_MS) for a, b in pairs if after <= a and b < before
    )


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def _verdict(value: float, target: float) -> str:
    return "met" if value < target else "missed"


def report(result: dict, load: str, click_every: float) -> str:
    rate = result["records"] / result["seconds"] if result["seconds"] else 0.0
    return f"""\
{result["records"]:,} generated digits records analysed in the window's background lane
({rate:.0f} records/s, {result["seconds"]:.1f} s) by the built-in model on the CPU, while a
10 ms heartbeat ran in the GUI thread ({result["ticks"]:,} ticks). During the first half of the
records the dataset ran alone; during the second half a row was also opened every {click_every:g} s (the
window then shows that row's analysis while the dataset goes on). Load average when it started: {load}.

| measure | result | target |
|---|---:|---|
| event-loop stall p50, dataset alone | {result["p50_stall_ms"]:.1f} ms | |
| event-loop stall p99, dataset alone | {result["p99_stall_ms"]:.1f} ms | < 16 ms ({_verdict(result["p99_stall_ms"], TARGETS["p99_stall_ms"])}) |
| event-loop stall max, dataset alone | {result["max_stall_ms"]:.1f} ms | |
| event-loop stall p99 / max while rows are also opened | {result["clicking_p99_stall_ms"]:.1f} / {result["clicking_max_stall_ms"]:.1f} ms | |
| row click to its analysis on screen, median of {result["clicks"]} | {result["click_median_ms"]:.0f} ms | < 100 ms ({_verdict(result["click_median_ms"], TARGETS["click_ms"])}) |
| row click to its analysis on screen, max | {result["click_max_ms"]:.0f} ms | |
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--click-every", type=float, default=0.5)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", metavar="DATA", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(Path(args.child), args.click_every)))
        return 0
    data = dataset_folder(CACHE, args.records)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(data), "--click-every", str(args.click_every)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    body = report(result, load, args.click_every)
    print(body)
    if not args.no_write:
        write_section("Dataset analysis in the window", body, "benchmarks/dataset_gui.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
