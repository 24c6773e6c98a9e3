"""A test-only training worker for torchrun: ``python -m tests.core.ddp_train SPEC.json``.

SPEC holds the ``train`` arguments (data, out, fusion, epochs, batch_size, seed, overrides,
and optionally resume)
and ``audit``, a folder where each rank records, from Python's audit hooks, every file it
opened for writing and every folder it created, renamed or removed under ``watch``. safetensors
writes from Rust, out of the hooks' sight, but the trainer renames every state file into place.

With ``kill_rank`` and ``kill_step`` in SPEC, that rank ends itself with os._exit(9) after that
step, the way a crashed or killed worker would.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from mmstudio.training.distributed import setup_from_env, teardown
from mmstudio.training.trainer import train

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
PATH_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "shutil.rmtree", "shutil.move"}


def _auditor(watch: Path, seen: list[str]):
    root = str(watch)

    def hook(event: str, args) -> None:
        if event == "open":
            path, mode, flags = args
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS
            )
            paths = [path] if writes else []
        elif event in PATH_EVENTS:
            paths = [a for a in args[:2] if isinstance(a, (str, os.PathLike))]
        else:
            return
        for path in paths:
            if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(root):
                seen.append(f"{event} {os.fspath(path)}")

    return hook


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    torch.set_num_threads(1)
    context = setup_from_env("cpu")
    seen: list[str] = []
    sys.addaudithook(_auditor(Path(spec["watch"]).resolve(), seen))
    kill = spec.get("kill_rank") == context.rank
    try:
        for event in train(
            spec["data"], fusion=spec["fusion"], out_dir=spec["out"], epochs=spec["epochs"],
            batch_size=spec["batch_size"], seed=spec["seed"], device="cpu",
            config_overrides=spec["overrides"], resume=spec.get("resume", False),
            context=context,
        ):  # fmt: skip
            if kill and event.kind == "step" and event.step == spec["kill_step"]:
                os._exit(9)
    finally:
        audit = Path(spec["audit"]) / f"rank{context.rank}.json"
        audit.write_text(json.dumps(seen), encoding="utf-8")
        teardown(context)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
