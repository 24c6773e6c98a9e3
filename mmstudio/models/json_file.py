"""A model folder's JSON file (a config, a processor's settings) read as one bounded JSON object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError
from mmstudio.models.config import json_kind


def read_json_object(path: Path, max_bytes: int) -> dict[str, Any]:
    """``path`` parsed as one JSON object of at most ``max_bytes``, or an InputError saying why
    not: model folders' JSON files (configs, processor files) are read with this one check."""
    if path.stat().st_size > max_bytes:
        size = f"{max_bytes // 1024**2}" if max_bytes % 1024**2 == 0 else f"{max_bytes / 1e6:g}"
        raise InputError(f"the file is over {size} MB", path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(f"the file is not UTF-8 text (byte {error.start})", path) from None
    except (ValueError, RecursionError) as error:  # ValueError: also numbers too long to read
        raise InputError(f"the file is not valid JSON ({error})", path) from None
    if not isinstance(raw, dict):
        raise InputError(f"the file must hold a JSON object ({{...}}), not {json_kind(raw)}", path)
    return raw
