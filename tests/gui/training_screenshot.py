"""The training studio with a comparison in progress, on a real screen, saved as a PNG
(docs/training.png).

    xvfb-run -a -s "-screen 0 1920x1080x24" python -m tests.gui.training_screenshot docs/training.png

The real window (shipped digits model) starts a comparison from Training ▸ New Training Run…'s
settings: concat, gated and attention, two seeds each, on a generated dataset with a shrunk
model. The picture is taken once the second strategy has a few evaluations, with one seed's
line highlighted as the pointer would; then the comparison is stopped.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer

POLL_MS = 500
SETTLE_MS = 800
TIMEOUT_MS = 600_000
FUSIONS = ("concat", "gated", "attention")
# Evaluations of the second strategy before the picture: both have curves with bands by then.
WANTED_EVALS = 2


def main(path: str) -> int:
    # A private settings store and cache: the screenshot must not depend on (or change) the user's.
    scratch = Path(tempfile.mkdtemp(prefix="mmstudio-training-shot-"))
    os.environ.setdefault("MMSTUDIO_SETTINGS_DIR", str(scratch / "settings"))
    os.environ.setdefault("MMSTUDIO_CACHE_DIR", str(scratch / "cache"))
    from mmstudio.gui.shell.app import create_application
    from mmstudio.gui.shell.launch import save_screenshot
    from mmstudio.gui.shell.main_window import MainWindow
    from mmstudio.studio_runs import VAL_ACCURACY, request_stop
    from tests.gui.training_runs import kill_driver, small_comparison

    app = create_application()
    window = MainWindow("digits", "cpu")
    window.resize(1900, 1000)
    # Batches of 16: enough optimiser steps for the curves to move.
    settings = small_comparison(
        scratch, fusions=FUSIONS, seeds=2, epochs=5, records=200, batch_size=16
    )
    state = {"started": False, "code": 3}

    def on_ready(_info) -> None:
        if not state["started"]:
            state["started"] = True
            if not window.training.start(settings):
                app.exit(4)
                return
            watch.start()

    def check() -> None:
        reader = window.training.view.reader
        if reader is None or reader.plan is None:
            return
        second = reader.runs_of(FUSIONS[1])[0]
        if len(reader.series(second.id, VAL_ACCURACY)) >= WANTED_EVALS or reader.finished:
            watch.stop()
            view = window.training.view
            view.runs.selectRow(len(reader.runs_of(FUSIONS[0])))  # the running strategy's first
            _point_at_a_seed(view.accuracy, reader.runs_of(FUSIONS[0])[1].id)
            QTimer.singleShot(SETTLE_MS, finish)

    def finish() -> None:
        saved = save_screenshot(window, path)
        reader = window.training.view.reader
        request_stop(reader.folder)
        kill_driver(reader.driver_pid)
        window.training.view.stop_watching()  # so closing does not ask about the training
        state["code"] = 0 if saved else 5
        app.exit(state["code"])

    watch = QTimer()
    watch.setInterval(POLL_MS)
    watch.timeout.connect(check)
    window.model_ready.connect(on_ready)
    QTimer.singleShot(TIMEOUT_MS, lambda: app.exit(3))  # never hang a headless run
    window.show()
    code = app.exec()
    window.close()
    return code


def _point_at_a_seed(plot, run_id: str) -> None:
    """What the pointer over a seed's line shows: that line brought forward and named."""
    for items in plot.items.values():
        line = items.seeds.get(run_id)
        if line is not None:
            x, y = line.getData()
            if x is not None and len(x):
                middle = len(x) // 2
                plot._highlight(line, (float(x[middle]), float(y[middle])))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "training.png"))
