"""The desktop studio: the only package of mmstudio that imports Qt or pyqtgraph.

``run`` is resolved lazily so that ``import mmstudio.gui`` stays cheap and never
imports torch (the model is loaded later, inside the worker thread).
"""

from __future__ import annotations

from mmstudio.gui import _pyside_compat

# Before any signal is emitted anywhere in the process (see the module's docstring).
_pyside_compat.apply()

__all__ = ["run"]


def __getattr__(name: str):
    if name == "run":
        from mmstudio.gui.app import run

        return run
    raise AttributeError(f"module 'mmstudio.gui' has no attribute {name!r}")
