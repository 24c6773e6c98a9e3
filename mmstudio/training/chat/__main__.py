"""``python -m mmstudio.training.chat`` is ``mmstudio train-chat``."""

from __future__ import annotations

import argparse
import sys

from mmstudio.training.chat.command import add_train_chat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmstudio.training.chat")
    add_train_chat(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["train-chat", *(sys.argv[1:] if argv is None else argv)])
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
