"""Where the studio keeps the results of each (model, dataset) pair, so reopening a dataset with
the same model shows its results at once.

The key is a digest of the model's weights and of the dataset's content as listed (the
manifest and labels files, or the names, sizes and modification times of loose files): retrain
the model or edit the dataset and the key changes, so stale results are never shown as current.
A comparison with a second model has its own key, with that model's weights in it too.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from mmstudio.datasets.records import AUDIO_SUFFIXES, IMAGE_SUFFIXES, TEXT_SUFFIXES
from mmstudio.datasets.results_metadata import model_fingerprint
from mmstudio.training.manifest import LABELS_FILE, MANIFEST_CSV, MANIFEST_JSONL

_LOOSE_SUFFIXES = IMAGE_SUFFIXES | AUDIO_SUFFIXES | TEXT_SUFFIXES


def dataset_fingerprint(path: str | Path) -> str:
    """A digest of what the dataset folder (or manifest file) holds now."""
    path = Path(path).resolve()
    folder = path.parent if path.is_file() else path
    digest = hashlib.sha256(str(folder).encode("utf-8"))
    listed = [folder / name for name in (MANIFEST_JSONL, MANIFEST_CSV, LABELS_FILE)]
    if any(p.is_file() for p in listed[:2]):
        for file in listed:
            if file.is_file():
                digest.update(file.name.encode("utf-8"))
                digest.update(file.read_bytes())
        return digest.hexdigest()[:16]
    for file in sorted(_loose_files(folder)):
        stat = file.stat()
        digest.update(f"{file.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _loose_files(folder: Path):
    for root, subfolders, names in os.walk(folder):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for name in names:
            if Path(name).suffix.lower() in _LOOSE_SUFFIXES and not name.startswith("."):
                yield Path(root) / name


def cache_root() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("MMSTUDIO_CACHE_DIR") or user_cache_dir("mmstudio")) / "analyses"


def cached_results_path(
    model,
    dataset: str | Path,
    root: str | Path | None = None,
    compare=None,
    generation=None,
    coalition_answers: bool = False,
) -> Path:
    """The results folder for ``model`` on ``dataset`` (compared with the model ``compare``,
    if given; a generative model decoding with ``generation``, GenerationOptions, has one per
    set of options, and another with ``coalition_answers``, whose rows hold every coalition's
    answer too); it exists once an analysis wrote rows."""
    versus = f"-vs-{model_fingerprint(compare)}" if compare is not None else ""
    decoding = ""
    if generation is not None:
        options = json.dumps(generation.to_dict(), sort_keys=True).encode("utf-8")
        decoding = f"-g{hashlib.sha256(options).hexdigest()[:8]}"
        if coalition_answers:
            decoding += "-coalitions"
    name = f"{model_fingerprint(model)}{versus}{decoding}-{dataset_fingerprint(dataset)}.parquet"
    return Path(root) / name if root is not None else cache_root() / name
