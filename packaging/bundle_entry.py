"""The desktop bundle's executable: the ``mmstudio`` command line (no arguments: the window).

A frozen program has no ``python -m``, so ``mmstudio launch [options]`` stands in for
``python -m mmstudio.gui [options]``: the scripted launches the smoke test drives (an example,
a screenshot, quit after the analysis).
"""

from __future__ import annotations

import multiprocessing
import sys


def main() -> int:
    if sys.argv[1:2] == ["launch"]:
        from mmstudio.gui.__main__ import main as launch

        return launch(sys.argv[2:])
    from mmstudio.cli import main as cli

    return cli(sys.argv[1:])


if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes of a frozen program re-enter here
    raise SystemExit(main())
