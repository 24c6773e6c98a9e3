"""Work around PySide6 6.12.0 dropping references to ``None``, ``True`` and ``False``.

In that release every Qt method that returns nothing gives back ``None`` without taking a
reference for it, and ``SignalInstance.emit()`` does the same with ``True``. Each call lowers the
singleton's reference count by one. On Python 3.12 and later these objects are immortal and
nothing happens; on Python 3.11 the count reaches zero after a few thousand calls (a minute of
using the window) and the interpreter aborts with "none_dealloc: deallocating None" or
"bool_dealloc". When the fault is present, give the three singletons a reference count no
program can exhaust, which is what Python 3.12 does for them anyway.

The real fix is a PySide6 without the fault (see BENCHMARKS/README notes); this keeps the studio
alive on the release the project's environment has.
"""

from __future__ import annotations

import ctypes
import sys

# The order of Python 3.12's immortal reference count; the leak is one per call.
_ENOUGH = 1 << 40
_applied = False


def leaks_references() -> bool:
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(4):
        probe.setObjectName("probe")  # returns nothing: None
        probe.ping.emit()  # returns True
    return sys.getrefcount(None) < none_before or sys.getrefcount(True) < true_before


def apply() -> bool:
    """Returns whether the workaround was needed (it is applied at most once)."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not leaks_references():
        return False
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object.
        ctypes.c_ssize_t.from_address(id(singleton)).value += _ENOUGH
    _applied = True
    return True
