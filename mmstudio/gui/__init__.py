"""The desktop studio: the only package of mmstudio that imports Qt or pyqtgraph.

``run`` is resolved lazily so that ``import mmstudio.gui`` stays cheap and never
imports torch (the model is loaded later, inside the worker thread).
"""

from __future__ import annotations

from mmstudio.lazy import lazy_exports

__all__ = ["run"]

__getattr__, __dir__ = lazy_exports(__name__, {"run": "mmstudio.gui.shell.app"})
