"""The desktop studio: the only package of mmstudio that imports Qt or pyqtgraph.

``run`` is resolved lazily so that ``import mmstudio.gui`` stays cheap and never
imports torch (the model is loaded later, inside the worker thread).
"""

from __future__ import annotations

__all__ = ["run"]


def __getattr__(name: str):
    if name == "run":
        from mmstudio.gui.shell.app import run

        return run
    raise AttributeError(f"module 'mmstudio.gui' has no attribute {name!r}")
