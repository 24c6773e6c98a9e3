"""What a dataset analysis reads: the records of a manifest folder, or of a plain folder of files.

A manifest folder is the documented format (docs/dataset-format.md) read by
:mod:`mmstudio.training.manifest`, with labels optional and missing files left to fail on their
own record rather than stopping the run. A folder without a manifest is taken as loose files:
an image, an audio clip and a ``.txt`` text with the same stem (and the same subfolder) are one
record, without a label.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from mmstudio.inputs import make_sample
from mmstudio.inputs.errors import InputError
from mmstudio.inputs.sample import Sample
from mmstudio.training.manifest import (
    MANIFEST_CSV,
    MANIFEST_JSONL,
    Record,
    natural_key,
    read_manifest,
)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3"})
TEXT_SUFFIXES = frozenset({".txt"})
_KIND_OF_SUFFIX = {
    **dict.fromkeys(IMAGE_SUFFIXES, "image"),
    **dict.fromkeys(AUDIO_SUFFIXES, "audio"),
    **dict.fromkeys(TEXT_SUFFIXES, "text"),
}


@dataclass
class DatasetRecords:
    """The records to analyse, in a fixed order, and where they came from."""

    root: Path
    records: list[Record]
    labels: list[str]
    kind: str  # "manifest" or "folder"


def read_records(
    path: str | Path, *, split: str | None = None, limit: int | None = None
) -> DatasetRecords:
    """The records of a manifest folder (or manifest file), else of a plain folder of files."""
    path = Path(path)
    if not path.exists():
        raise InputError("the dataset folder does not exist", path)
    has_manifest = path.is_file() or any(
        (path / name).is_file() for name in (MANIFEST_JSONL, MANIFEST_CSV)
    )
    if has_manifest:
        dataset = _manifest_records(path)
    elif path.is_dir():
        dataset = _folder_records(path)
    else:
        raise InputError("expected a dataset folder or its manifest file", path)
    if split is not None:
        dataset.records = _one_split(dataset, split, path)
    if limit is not None:
        dataset.records = dataset.records[: max(0, limit)]
    return dataset


def _manifest_records(path: Path) -> DatasetRecords:
    manifest = read_manifest(path, require_labels=False, require_files=False)
    return DatasetRecords(manifest.root, manifest.records, manifest.labels, "manifest")


def _one_split(dataset: DatasetRecords, split: str, path: Path) -> list[Record]:
    if dataset.kind == "folder":
        raise InputError("a folder without a manifest has no splits; drop --split", path)
    from mmstudio.training.manifest import Manifest

    try:
        return Manifest(dataset.root, dataset.records, dataset.labels).split(split)
    except ValueError as error:
        raise InputError(str(error), path) from None


def _folder_records(root: Path) -> DatasetRecords:
    files_by_stem: dict[str, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in names:
            kind = _KIND_OF_SUFFIX.get(Path(name).suffix.lower())
            if kind is None or name.startswith("."):
                continue
            file = Path(folder) / name
            stem = file.relative_to(root).with_suffix("").as_posix()
            files_by_stem[stem][kind].append(file)
    if not files_by_stem:
        raise InputError(
            f"no {MANIFEST_JSONL} or {MANIFEST_CSV}, and no image, audio or .txt files to pair up",
            root,
        )
    records = [
        _paired_record(stem, files_by_stem[stem]) for stem in sorted(files_by_stem, key=natural_key)
    ]
    return DatasetRecords(root, records, [], "folder")


def _paired_record(stem: str, files: dict[str, list[Path]]) -> AnalysisRecord:
    doubles = [sorted(p.name for p in paths) for paths in files.values() if len(paths) > 1]

    def first(kind: str) -> Path | None:
        return files[kind][0] if files[kind] else None

    return AnalysisRecord(
        id=stem,
        label=None,
        image=first("image"),
        audio=first("audio"),
        text_file=first("text"),
        # Guessing which of two same-named images was meant would explain the wrong file.
        problem=f"the files {', '.join(doubles[0])} share one name; keep only one of them"
        if doubles
        else None,
    )


@dataclass
class AnalysisRecord(Record):
    """A Record as the engines carry it. A loose-file record's text is still in
    ``text_file``, read when the record is decoded, and ``problem`` says why its files cannot
    be one record, if they cannot: it becomes that record's error row."""

    text_file: Path | None = None
    problem: str | None = None


def text_file_of(record: Record) -> Path | None:
    return getattr(record, "text_file", None)


def decode_record(record: Record) -> Sample:
    """Open a record's files into a Sample; every problem is an InputError naming the file."""
    problem = getattr(record, "problem", None)
    if problem:
        raise InputError(problem, record.id)
    text_file = text_file_of(record)
    sample = make_sample(
        image=str(record.image) if record.image is not None else None,
        text=text_file if text_file is not None else record.text,
        audio=str(record.audio) if record.audio is not None else None,
    )
    if not sample.present:
        raise InputError("the record has nothing to analyse (its text is blank)", record.id)
    return sample
