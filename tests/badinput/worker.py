"""Running bad-input cases through ``mmstudio.cli.main`` in one worker process (torch imported
once): the environment it needs and the outcomes it records, one JSON line a case."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import checkout_environment

ROOT = Path(__file__).resolve().parents[2]


def run_cases(work: Path, names: list[str], timeout: float):
    """Run the named cases in ``work``; (the worker's CompletedProcess, {name: outcome}) for
    the cases it finished (a worker that died leaves the rest out)."""
    results = work / "results.jsonl"
    worker = subprocess.run(
        [sys.executable, "-m", "tests.badinput.run_cases", str(work), str(results), *names],
        cwd=ROOT,
        env=checkout_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = results.read_text(encoding="utf-8").splitlines() if results.exists() else []
    return worker, {(o := json.loads(line))["name"]: o for line in lines}
