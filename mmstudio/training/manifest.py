"""The dataset format: a folder with ``manifest.jsonl`` (or ``manifest.csv``) and the files it names.

The format is deliberately plain so that anyone can produce it with a spreadsheet or a few lines
of code; docs/dataset-format.md is the user-facing description and must stay in step with this
module. Everything wrong with a manifest is reported as an :class:`InputError` naming the file
and the line, because the person reading it has to go and fix that line.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError

MANIFEST_JSONL = "manifest.jsonl"
MANIFEST_CSV = "manifest.csv"
LABELS_FILE = "labels.txt"

SPLITS: tuple[str, ...] = ("train", "val", "test")
MODALITY_FIELDS: tuple[str, ...] = ("image", "audio", "text")
# The answer a generative model is expected to give (``expected_answer`` is the same field).
ANSWER_FIELDS: tuple[str, ...] = ("answer", "expected_answer")
# The labels one modality alone is consistent with, where it names more than the record's label
# ("three or eight"): training teaches that modality alone to share its belief between them.
LABEL_SET_FIELDS: dict[str, str] = {name: f"{name}_labels" for name in MODALITY_FIELDS}
RESERVED_FIELDS: tuple[str, ...] = (
    "id", "label", "split", *MODALITY_FIELDS, *ANSWER_FIELDS, *LABEL_SET_FIELDS.values(),
)  # fmt: skip

# People write "validation" or "dev" as often as "val"; accepting them costs nothing.
_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}


@dataclass
class Record:
    """One example. Paths are absolute (resolved against the dataset folder); None = absent."""

    id: str
    label: str | None  # None only in manifests read with require_labels=False
    image: Path | None = None
    audio: Path | None = None
    text: str | None = None
    split: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # What a generative model should answer (the manifest's ``answer`` column), or None.
    answer: str | None = None
    # Modality -> the labels that modality alone allows, for the modalities that allow more
    # than the record's label (the manifest's ``text_labels`` and the like).
    modality_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(name for name in MODALITY_FIELDS if getattr(self, name) is not None)


@dataclass
class Manifest:
    root: Path
    records: list[Record]
    labels: list[str]

    def split(self, name: str) -> list[Record]:
        """Records assigned to one split; records without a split belong to none of them."""
        canonical = canonical_split(name)
        return [record for record in self.records if record.split == canonical]

    @property
    def has_splits(self) -> bool:
        """True when the manifest fixes the splits itself, so the trainer must not re-split."""
        return any(record.split is not None for record in self.records)


def canonical_split(name: str) -> str:
    """ "train", "val" or "test" for any accepted spelling of a split's name."""
    canonical = _SPLIT_ALIASES.get(name.lower())
    if canonical is None:
        raise InputError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
    return canonical


def natural_key(text: str) -> tuple:
    """Sort key under which "2" < "10" and "img2" < "img10"."""
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in parts)


# --------------------------------------------------------------------------------------- reading


def read_manifest(
    folder: str | Path, *, require_labels: bool = True, require_files: bool = True
) -> Manifest:
    """Read and validate a dataset folder (or the manifest file inside it).

    Analysing a dataset needs neither labels nor every file: ``require_labels=False``
    reads a record without a label as ``label=None``, and ``require_files=False`` leaves a
    missing file for whoever opens it to report against that one record.
    """
    manifest_path = _find_manifest(Path(folder))
    root = manifest_path.parent
    declared_labels = _read_labels_file(root / LABELS_FILE)
    if manifest_path.name == MANIFEST_CSV:
        rows = _csv_rows(manifest_path, require_labels)
    else:
        rows = _jsonl_rows(manifest_path)

    records: list[Record] = []
    seen_ids: dict[str, int] = {}
    for line_no, row in rows:
        record = _parse_record(
            row, root, manifest_path, line_no, declared_labels, require_labels, require_files
        )
        if record.id in seen_ids:
            raise _line_error(
                manifest_path,
                line_no,
                f"the id {record.id!r} is already used on line {seen_ids[record.id]}",
            )
        seen_ids[record.id] = line_no
        records.append(record)

    if not records:
        raise InputError("the manifest has no records", manifest_path)
    used = {r.label for r in records if r.label is not None}
    labels = declared_labels or sorted(used, key=natural_key)
    return Manifest(root=root, records=records, labels=labels)


def _find_manifest(path: Path) -> Path:
    if path.is_file():
        if path.name not in (MANIFEST_JSONL, MANIFEST_CSV):
            raise InputError(f"expected a folder with {MANIFEST_JSONL} or {MANIFEST_CSV}", path)
        return path
    if not path.is_dir():
        raise InputError("the dataset folder does not exist", path)
    jsonl, csv_path = path / MANIFEST_JSONL, path / MANIFEST_CSV
    if jsonl.is_file() and csv_path.is_file():
        # Silently preferring one would train on whichever file the user did not just edit.
        raise InputError(
            f"both {MANIFEST_JSONL} and {MANIFEST_CSV} are present; keep only one", path
        )
    for candidate in (jsonl, csv_path):
        if candidate.is_file():
            return candidate
    raise InputError(f"no {MANIFEST_JSONL} or {MANIFEST_CSV} in this folder", path)


def _read_labels_file(path: Path) -> list[str] | None:
    if not path.is_file():
        return None
    labels: list[str] = []
    for line_no, line in enumerate(_read_text(path).splitlines(), start=1):
        label = line.strip()
        if not label:
            continue
        if label in labels:
            raise _line_error(path, line_no, f"the label {label!r} is listed twice")
        labels.append(label)
    if not labels:
        raise InputError("the file lists no labels", path)
    return labels


def _read_text(path: Path) -> str:
    try:
        # utf-8-sig: spreadsheets on Windows put a byte-order mark in front of the header.
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"the file is not UTF-8 text (byte {exc.start})", path) from None
    except OSError as exc:
        raise InputError(f"the file cannot be read ({exc.strerror or exc})", path) from None


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for line_no, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _line_error(path, line_no, f"is not valid JSON ({exc.msg})") from None
        except (ValueError, RecursionError):  # numbers too long to read, nesting too deep
            raise _line_error(path, line_no, "is not JSON that can be read") from None
        if not isinstance(row, dict):
            raise _line_error(path, line_no, "is not a JSON object ({...})")
        yield line_no, row


def _csv_rows(path: Path, require_labels: bool = True) -> Iterator[tuple[int, dict[str, Any]]]:
    lines = _read_text(path).splitlines()
    reader = csv.DictReader(lines)
    header = [name.strip() for name in reader.fieldnames or []]
    if not header or (require_labels and "label" not in header):
        raise _line_error(path, 1, "the header must have a 'label' column")
    for row in reader:
        if None in row:
            raise _line_error(path, reader.line_num, "has more values than the header has columns")
        cleaned = {key.strip(): value for key, value in row.items() if key is not None}
        if not any((value or "").strip() for value in cleaned.values()):
            continue
        yield reader.line_num, cleaned


def _parse_record(
    row: dict[str, Any],
    root: Path,
    manifest_path: Path,
    line_no: int,
    declared_labels: list[str] | None,
    require_labels: bool = True,
    require_files: bool = True,
) -> Record:
    def fail(message: str) -> InputError:
        return _line_error(manifest_path, line_no, message)

    label = _optional_string(row.get("label"), "label", fail, allow_numbers=True)
    if label is None and require_labels:
        raise fail("no label")
    if label is not None and declared_labels is not None and label not in declared_labels:
        raise fail(f"unknown label {label!r} not in {LABELS_FILE}")

    image = _file_field(row, "image", root, fail, require_files)
    audio = _file_field(row, "audio", root, fail, require_files)
    text = _optional_string(row.get("text"), "text", fail, strip=False)
    if text is not None and not text.strip():
        text = None
    if image is None and audio is None and text is None:
        raise fail("a record must name at least one of image, audio, text")

    split_value = _optional_string(row.get("split"), "split", fail)
    split = None
    if split_value is not None:
        split = _SPLIT_ALIASES.get(split_value.lower())
        if split is None:
            raise fail(f"unknown split {split_value!r}; use one of {', '.join(SPLITS)}")

    record_id = _optional_string(row.get("id"), "id", fail, allow_numbers=True)
    meta = {key: value for key, value in row.items() if key not in RESERVED_FIELDS}
    return Record(
        id=record_id or f"line{line_no}",
        label=label,
        image=image,
        audio=audio,
        text=text,
        split=split,
        meta=meta,
        answer=_expected_answer(row, fail),
        modality_labels=_modality_labels(row, label, declared_labels, fail),
    )


def _expected_answer(row: dict[str, Any], fail) -> str | None:
    answers = {
        name: _optional_string(row.get(name), name, fail, allow_numbers=True)
        for name in ANSWER_FIELDS
    }
    given = {name: value for name, value in answers.items() if value is not None}
    if len(set(given.values())) > 1:
        raise fail("answer and expected_answer differ; give only one of them")
    return next(iter(given.values()), None)


def _modality_labels(
    row: dict[str, Any], label: str | None, declared_labels: list[str] | None, fail
) -> dict[str, tuple[str, ...]]:
    """``text_labels`` and the like: a list (or a string of labels joined by ``|``) that
    holds the record's own label, for a modality the record has."""
    found: dict[str, tuple[str, ...]] = {}
    for modality, name in LABEL_SET_FIELDS.items():
        value = row.get(name)
        if value is None or value == "" or value == []:
            continue
        items = value.split("|") if isinstance(value, str) else value
        if not isinstance(items, list):
            raise fail(f"{name} must be a list of labels, not {type(value).__name__}")
        labels = tuple(
            dict.fromkeys(_optional_string(item, name, fail, allow_numbers=True) for item in items)
        )
        if None in labels:
            raise fail(f"{name} holds an empty label")
        if row.get(modality) in (None, ""):
            raise fail(f"{name} is given but the record has no {modality}")
        unknown = [x for x in labels if declared_labels is not None and x not in declared_labels]
        if unknown:
            raise fail(f"{name}: unknown label {unknown[0]!r} not in {LABELS_FILE}")
        if label is not None and label not in labels:
            raise fail(f"{name} {list(labels)} must include the record's label {label!r}")
        found[modality] = labels
    return found


def _optional_string(
    value: Any, name: str, fail, *, allow_numbers: bool = False, strip: bool = True
) -> str | None:
    if value is None:
        return None
    if allow_numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
        # JSON writers often emit digit labels as numbers: {"label": 7}.
        value = str(int(value)) if float(value).is_integer() else str(value)
    if not isinstance(value, str):
        raise fail(f"the {name} must be a string, not {type(value).__name__}")
    value = value.strip() if strip else value
    return value or None


def _file_field(
    row: dict[str, Any], name: str, root: Path, fail, must_exist: bool = True
) -> Path | None:
    relative = _optional_string(row.get(name), name, fail)
    if relative is None:
        return None
    path = root / relative
    if must_exist and not path.is_file():
        if path.is_dir():
            raise fail(f"the {name} file {relative} is a folder")
        raise fail(f"the {name} file {relative} does not exist")
    return path


def _line_error(path: Path, line_no: int, message: str) -> InputError:
    # "line 3 is not valid JSON" reads better than "line 3: is not valid JSON".
    joiner = " " if message.startswith(("is ", "has ")) else ": "
    return InputError(f"line {line_no}{joiner}{message}", path)


# --------------------------------------------------------------------------------------- writing


def write_manifest(folder: str | Path, records: Iterable[Record], labels: Iterable[str]) -> Path:
    """Write ``manifest.jsonl`` and ``labels.txt``; paths inside ``folder`` are stored relative."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    if (root / MANIFEST_CSV).exists():
        raise InputError(
            f"{MANIFEST_CSV} already exists here; writing {MANIFEST_JSONL} would make the "
            "dataset ambiguous",
            root,
        )
    labels = list(labels)
    lines = [json.dumps(_record_to_row(record, root), ensure_ascii=False) for record in records]
    (root / LABELS_FILE).write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")
    manifest_path = root / MANIFEST_JSONL
    manifest_path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return manifest_path


def _record_to_row(record: Record, root: Path) -> dict[str, Any]:
    clashes = set(record.meta) & set(RESERVED_FIELDS)
    if clashes:
        raise ValueError(f"record {record.id}: meta keys {sorted(clashes)} clash with fields")
    row: dict[str, Any] = {"id": record.id, "label": record.label}
    if record.split is not None:
        row["split"] = record.split
    for name in ("image", "audio"):
        path = getattr(record, name)
        if path is not None:
            row[name] = _relative_posix(Path(path), root)
    if record.text is not None:
        row["text"] = record.text
    if record.answer is not None:
        row["answer"] = record.answer
    for modality, labels in record.modality_labels.items():
        row[LABEL_SET_FIELDS[modality]] = list(labels)
    row.update(record.meta)
    return row


def _relative_posix(path: Path, root: Path) -> str:
    # Forward slashes so a dataset written on Windows reads on Linux and back. A relative
    # path is taken to be relative to the dataset folder already; one outside it stays absolute.
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
