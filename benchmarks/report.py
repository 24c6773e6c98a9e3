"""Writing benchmark results into BENCHMARKS.md, one replaceable section per script."""

from __future__ import annotations

import os
import platform
import re
from datetime import date
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
_HEADER = "# Benchmarks\n\nEach section is written by the script it names; rerun it to refresh the figures.\n"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_description() -> str:
    parts = [f"{cpu_model()}, {os.cpu_count()} cores", f"Python {platform.python_version()}"]
    try:
        import torch

        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
        if torch.cuda.is_available():
            parts.append(f"GPU {torch.cuda.get_device_name(0)}")
    except ImportError:
        pass
    return "; ".join(parts)


def write_section(title: str, body: str, script: str) -> Path:
    """Replace (or add) the section headed ``## title`` in BENCHMARKS.md."""
    text = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.exists() else _HEADER
    section = (
        f"## {title}\n\n"
        f"Written by `{script}` on {date.today().isoformat()}. Machine: {machine_description()}.\n\n"
        f"{body.strip()}\n"
    )
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    BENCHMARKS_MD.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    return BENCHMARKS_MD
