"""Train and score digits-chat on a digits dataset build (a feasibility command, not yet the
documented ``mmstudio train-chat``).

Usage: ``python -m mmstudio.training.chat DIGITS OUT [--steps N] [--minutes M] [--records N]``

Questions on the train split use the training templates; the score is on the test split (held-
out fonts, writers and voices) with the held-out templates. ``OUT/model`` is the model folder,
``OUT/scores.json`` the loss curve and the scores. Running it again resumes from the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmstudio.training.chat")
    parser.add_argument("digits", type=Path, help="a digits dataset build (its folder)")
    parser.add_argument("out", type=Path, help="the run folder")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--minutes", type=float, default=None, help="stop after this long")
    parser.add_argument("--records", type=int, default=60000, help="training questions")
    parser.add_argument("--eval-records", type=int, default=600, help="test questions")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    os.environ.setdefault("MMSTUDIO_CPU_DTYPE", "float32")
    import torch

    from mmstudio.inputs.errors import InputError
    from mmstudio.models.registry import get_model
    from mmstudio.training.chat.data import build_chat_records, describe_counts
    from mmstudio.training.chat.evaluate import evaluate_chat
    from mmstudio.training.chat.train import MODEL, ChatTrainSettings, train_chat
    from mmstudio.training.manifest import read_manifest

    torch.set_num_threads(args.threads)
    try:
        manifest = read_manifest(args.digits)
        train = build_chat_records(manifest.split("train"), args.records, seed=args.seed)
        test = build_chat_records(
            manifest.split("test"), args.eval_records, seed=args.seed + 1, template_set="heldout"
        )
        print(f"training questions: {describe_counts(train)}", flush=True)
        settings = ChatTrainSettings(
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            threads=args.threads,
            max_seconds=args.minutes * 60 if args.minutes else None,
            log_every=25,
            checkpoint_every=200,
        )
        curve = []
        for event in train_chat(args.out, train, settings):
            if event.kind == "step":
                curve.append([event.step, round(event.loss, 4), round(event.seconds, 1)])
                print(f"step {event.step}/{event.total_steps} loss {event.loss:.4f}", flush=True)
            elif event.message:
                print(event.message, flush=True)
        started = time.perf_counter()
        score = evaluate_chat(get_model(args.out / MODEL), test)
        summary = score.summary()
        summary["evaluate_seconds"] = round(time.perf_counter() - started, 1)
        result = {"curve": curve, "test": summary, "failures": score.failures}
        (args.out / "scores.json").write_text(json.dumps(result, indent=1) + "\n", "utf-8")
        print(json.dumps(summary, indent=1))
    except (InputError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
