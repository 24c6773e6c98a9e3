"""``mmstudio train-chat``: regenerate digits-chat from a digits dataset build.

    mmstudio build-digits data/digits
    mmstudio train-chat data/digits data/chat-run            (about 85 minutes on 2 CPU cores)
    mmstudio train-chat data/digits data/chat-run --ship resources/models/digits-chat

Running it again continues an interrupted run (every stage saves its state); ``--ship`` copies
the trained folder and writes its model card and metrics next to it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from mmstudio.training.chat.settings import ChatRecipe

_TUNABLE = {
    "seed": "random seed of every stage",
    "threads": "CPU threads",
    "batch_size": "examples per step",
    "image_steps": "image-encoder pretraining steps",
    "audio_steps": "audio-encoder pretraining steps",
    "chat_steps": "decoder training steps",
    "chat_records": "training questions to draw",
    "eval_records": "test questions to score",
    "check_records": "test questions whose explanations are checked",
}


def add_train_chat(subparsers) -> None:
    parser = subparsers.add_parser(
        "train-chat",
        help="train the digits-chat generative model from a digits dataset build",
        description="Pretrain digits-chat's image and audio encoders, train its decoder to "
        "answer questions, and score it on the held-out test split. Rerun to resume.",
    )
    parser.add_argument("digits", type=Path, help="a digits dataset build (mmstudio build-digits)")
    parser.add_argument("out", type=Path, help="the run folder (created; reused to resume)")
    defaults = ChatRecipe()
    for name, text in _TUNABLE.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=int,
            default=getattr(defaults, name),
            help=f"{text} (default {getattr(defaults, name)})",
        )
    parser.add_argument(
        "--ship",
        type=Path,
        metavar="FOLDER",
        help="copy the trained model here with its model card (resources/models/digits-chat)",
    )
    parser.set_defaults(handler=run_train_chat)


def run_train_chat(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("MMSTUDIO_CPU_DTYPE", "float32")  # as trained: no bf16 surprises
    from mmstudio.inputs.errors import InputError
    from mmstudio.training.chat.recipe import run_recipe

    known = {f.name for f in fields(ChatRecipe)}
    recipe = ChatRecipe(**{k: getattr(args, k) for k in _TUNABLE if k in known})
    try:
        for update in run_recipe(args.digits, args.out, recipe):
            event = update.event
            if event is None:
                print(f"[{update.stage}] {update.message}", flush=True)
            elif event.kind == "step":
                extra = " ".join(f"{k} {v}" for k, v in event.metrics.items())
                print(
                    f"[{update.stage}] step {event.step}/{event.total_steps} "
                    f"loss {event.loss:.4f} {extra} ({event.seconds:.0f} s)",
                    flush=True,
                )
            elif event.message:
                print(f"[{update.stage}] {event.message}", flush=True)
        if args.ship:
            from mmstudio.training.chat.card import ship

            ship(args.out, args.ship, args.digits)
            print(f"shipped to {args.ship}")
    except (InputError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped; run the same command again to continue", file=sys.stderr)
        return 130
    return 0
