"""What the GUI benchmarks share: the real main window with its model loaded, and a 10 ms
heartbeat in the GUI thread whose late ticks are the stalls a person would feel."""

from __future__ import annotations

import time

HEARTBEAT_MS = 10


def ready_window(model: str | None, device: str = "cpu", size: tuple[int, int] = (1440, 900)):
    """(QApplication, MainWindow) once the window is shown and its model is loaded."""
    from mmstudio.gui.shell.app import create_application

    app = create_application()
    from mmstudio.gui.shell.main_window import MainWindow

    window = MainWindow(model, device)
    window.resize(*size)
    window.show()
    ready: list[object] = []
    window.model_ready.connect(ready.append)
    while not ready:
        app.processEvents()
        time.sleep(0.005)
    return app, window


def heartbeat(ticks: list[float]):
    """A precise timer appending ``time.perf_counter()`` to ``ticks`` every HEARTBEAT_MS; start it."""
    from PySide6.QtCore import Qt, QTimer

    beat = QTimer()
    beat.setTimerType(Qt.TimerType.PreciseTimer)
    beat.setInterval(HEARTBEAT_MS)
    beat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    return beat
