"""Does data-parallel training pay on this machine? One process against torchrun's N.

Usage: python benchmarks/ddp_scaling.py [--data DIR] [--nproc 2] [--epochs 2] [--batch-size 32]
       [--fusion attention] [--device cpu]

Trains the same run (default-size model, the small generated digits set unless --data says
otherwise) in this process with every CPU thread and with one, and under torchrun with
``--nproc`` processes (one thread each, torchrun's default), and prints the wall time of
each, launch included, and the training-loop seconds the checkpoint's metrics record
(rank 0's, without validation). The figures go in docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from mmstudio.training.distributed import (  # noqa: E402
    run_torchrun,
    setup_from_env,
    teardown,
    torchrun_command,
)
from mmstudio.training.trainer import train  # noqa: E402


def _train(args, out: Path, context=None) -> None:
    for _ in train(
        args.data, fusion=args.fusion, out_dir=out, epochs=args.epochs, patience=args.epochs,
        batch_size=args.batch_size, seed=0, device=args.device, context=context,
    ):  # fmt: skip
        pass


def _worker(args) -> int:
    context = setup_from_env(args.device)
    try:
        _train(args, Path(args.out), context)
    finally:
        teardown(context)
    return 0


def _train_seconds(out: Path) -> float:
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))["train_seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--fusion", default="attention")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        if args.data is None:
            from mmstudio.training.digits import build_digits_dataset

            args.data = scratch / "digits"
            build_digits_dataset(args.data, size="small", seed=0)
        single = {}
        for threads in sorted({1, torch.get_num_threads()}, reverse=True):
            torch.set_num_threads(threads)
            started = time.perf_counter()
            _train(args, scratch / f"one-{threads}")
            single[threads] = time.perf_counter() - started
        options = [
            "--worker", "--data", str(args.data), "--out", str(scratch / "many"),
            "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
            "--fusion", args.fusion, "--device", args.device,
        ]  # fmt: skip
        command = torchrun_command(args.nproc, "benchmarks.ddp_scaling", options)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        run_torchrun(command, cwd=ROOT, env=env).check()
        many = time.perf_counter() - started
        print(f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {args.fusion} fusion, ")
        print(f"{args.epochs} epochs, global batch {args.batch_size}, data {args.data}")
        print("| processes | wall seconds (launch included) | training-loop seconds |")
        print("|---|---|---|")
        for threads, seconds in single.items():
            print(f"| 1 ({threads} thread{'s' if threads > 1 else ''}) | {seconds:.1f} | "
                  f"{_train_seconds(scratch / f'one-{threads}'):.1f} |")  # fmt: skip
        print(f"| {args.nproc} (1 thread each) | {many:.1f} | "
              f"{_train_seconds(scratch / 'many'):.1f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
