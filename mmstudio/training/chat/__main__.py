"""``python -m mmstudio.training.chat`` is ``mmstudio train-chat``."""

from __future__ import annotations

import sys

from mmstudio.cli import main

if __name__ == "__main__":
    sys.exit(main(["train-chat", *sys.argv[1:]]))
