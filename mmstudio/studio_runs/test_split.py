"""The test split of a comparison's dataset as a manifest folder of its own, so the Dataset view
(which analyses whole folders) can compare two strategies on exactly the records their test
figures come from. The files stay where they are: the manifest names them by absolute path."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mmstudio.inputs.errors import InputError

TEST_SPLIT = "test-split"


def write_test_split(data: str | Path, seed: int, folder: str | Path) -> Path:
    """``folder``/test-split with a manifest of ``data``'s test records (as the run with
    ``seed`` split them, for a manifest without a split column) and its labels."""
    from mmstudio.training.data import split_records
    from mmstudio.training.manifest import LABELS_FILE, MANIFEST_JSONL, read_manifest

    manifest = read_manifest(data)
    records = split_records(manifest, "test", seed)
    if not records:
        raise InputError("the dataset has no test records", data)
    out = Path(folder) / TEST_SPLIT
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for record in records:
        row = {"id": record.id, "label": record.label, "split": "test", **record.meta}
        for name in ("image", "audio"):
            if getattr(record, name) is not None:
                row[name] = str(Path(getattr(record, name)).resolve())
        if record.text is not None:
            row["text"] = record.text
        rows.append(row)
    _atomic_write(out / MANIFEST_JSONL, "".join(json.dumps(row) + "\n" for row in rows))
    _atomic_write(out / LABELS_FILE, "".join(f"{label}\n" for label in manifest.labels))
    return out


def _atomic_write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
