"""Python's cyclic garbage collector, confined to the GUI thread while live mode runs.

The collector runs in whichever thread happens to allocate past its threshold. The live worker
allocates on every frame, so it would often be the one to free unreachable Qt wrappers (old
graphics items, widgets) and their C++ objects, from the wrong thread: a segfault. pyqtgraph's
GarbageCollector turns automatic collection off and collects on a GUI-thread timer instead.
"""

from __future__ import annotations

import gc

from pyqtgraph.util.garbage_collector import GarbageCollector

# Short enough that generation 0 never grows large at 30 analyses per second.
INTERVAL_S = 0.25


class GuiThreadCollection:
    def __init__(self) -> None:
        self._collector: GarbageCollector | None = None

    def start(self) -> None:
        if self._collector is None and gc.isenabled():  # the application may already do this
            self._collector = GarbageCollector(interval=INTERVAL_S)

    def stop(self) -> None:
        collector, self._collector = self._collector, None
        if collector is not None:
            collector.timer.stop()
            gc.enable()
