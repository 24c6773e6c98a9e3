"""The CPU compute dtype measured for a model on this machine, remembered so that the probe
(loading.py) runs once per machine and model, not at every start.

A decision is keyed by the resolved folder, the modification times of its config and weights
(a re-saved model is measured again) and the CPU's model name (bfloat16 is fast only where the
CPU has native bf16 instructions, so a copied cache must not carry a decision to another CPU).
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

CACHE_FILE = "generative_cpu_dtype.json"
ENV_OVERRIDE = "MMSTUDIO_CPU_DTYPE"
CPU_DTYPES = ("float32", "bfloat16")


def cache_path() -> Path:
    from platformdirs import user_cache_dir

    root = os.environ.get("MMSTUDIO_CACHE_DIR") or user_cache_dir("mmstudio")
    return Path(root) / CACHE_FILE


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def decision_key(folder: Path, files: list[Path] | tuple[Path, ...]) -> str:
    stamps = [path.stat().st_mtime_ns for path in files]
    return json.dumps([str(folder.resolve()), max(stamps, default=0), cpu_name()])


def _read() -> dict[str, Any]:
    try:
        data = json.loads(cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: measuring again repairs it
    return data if isinstance(data, dict) else {}


def remembered(key: str) -> str | None:
    """The dtype decided for ``key`` earlier on this machine, or None."""
    entry = _read().get(key)
    dtype = entry.get("dtype") if isinstance(entry, dict) else None
    return dtype if dtype in CPU_DTYPES else None


def remember(key: str, dtype: str, measured: dict[str, Any]) -> None:
    """Record the decision (and the timings behind it) atomically: a crash mid-write leaves
    the previous file, never half of one."""
    path = cache_path()
    data = _read()
    data[key] = {"dtype": dtype, **measured}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        pass  # a read-only cache only costs measuring again next time
