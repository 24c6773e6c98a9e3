"""Memory of the GUI process with live mode on: the main window with the built-in model, then
live mode streaming the typed text through the model (no camera or microphone needed).

Usage: python benchmarks/live_memory.py [--seconds 5] [--model NAME|DIR]
Prints one JSON line: resident memory (VmRSS) once the model is loaded, and the peak and final
resident memory while live mode runs, plus how many live results were drawn. Whatever live mode
loads on top of the window's model (a second copy of the model, a second thread) shows up as
the difference between the two.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def wait(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--model", default="digits")
    args = parser.parse_args(argv)
    from mmstudio.gui.shell.app import create_application
    from mmstudio.gui.shell.main_window import MainWindow

    app = create_application()
    window = MainWindow(model=args.model, device="cpu")
    ready: list = []
    window.model_ready.connect(ready.append)
    window.show()
    deadline = time.monotonic() + 120
    while not ready and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    if not ready:
        print(json.dumps({"error": "the model did not load"}))
        return 1
    window.inputs.text_input.set_text("I think it is a seven")
    wait(2.0)
    model_loaded = rss_mib()
    live = window.live
    live.session.camera_choice = None
    live.session.microphone_choice = None
    shown: list = []
    live.session.result_shown.connect(lambda result, latency: shown.append(latency))
    live.live_action.trigger()
    peak = model_loaded
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        peak = max(peak, rss_mib())
    final = rss_mib()
    live.live_action.trigger()
    window.close()
    print(
        json.dumps(
            {
                "rss_model_loaded_mib": round(model_loaded, 1),
                "rss_live_peak_mib": round(peak, 1),
                "rss_live_final_mib": round(final, 1),
                "live_results": len(shown),
                "seconds": args.seconds,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
