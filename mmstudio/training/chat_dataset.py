"""``mmstudio build-digits-chat``: the digits dataset's question/answer records as a dataset folder.

The records come from :mod:`mmstudio.training.chat.data` (the same ones digits-chat trains and is
scored on); this module only writes them where ``mmstudio analyze`` and the Dataset view open
them: ``manifest.jsonl`` (``label`` the question kind, ``answer`` the expected answer),
``labels.txt`` (the kinds) and ``build_info.json`` (how to build it again).

The media are copied into the folder (hard-linked where the file system allows, which costs no
space), under ``media/`` with the digits build's own relative paths. A copy makes the folder
whole on its own: it can be moved, shared or kept after the digits build is deleted, its
manifest holds only relative paths, and the studio's results cache (keyed by the manifest's
content) never serves rows of files that were replaced under the same absolute path. A test
split of a few hundred questions uses a few hundred distinct files of a few kB each.

The folder is written beside ``OUT`` and renamed into place once complete, so a failed build
leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from mmstudio.inputs.errors import InputError

MEDIA_FOLDER = "media"
BUILD_INFO = "build_info.json"


def add_subcommand(subparsers) -> None:
    parser = subparsers.add_parser(
        "build-digits-chat",
        help="write the digits dataset's question/answer records as a dataset folder",
        description="Question/answer records for digits-chat, drawn from one split of a digits "
        "build (mmstudio build-digits): the manifest's label is the question kind and its "
        "answer column the expected answer, so `mmstudio analyze OUT --model digits-chat "
        "--coalition-answers` scores them per kind and per coalition of modalities. The media "
        "are copied into OUT (hard links where possible).",
    )
    parser.add_argument("digits", type=Path, help="a digits dataset build (its folder)")
    parser.add_argument("out", type=Path, help="the folder to write (must not exist yet)")
    parser.add_argument(
        "--split", default="test", help="the digits split to draw from (default test)"
    )
    parser.add_argument(
        "--records", type=int, default=600, metavar="N", help="how many questions (default 600)"
    )
    parser.add_argument(
        "--templates",
        choices=("train", "heldout"),
        default="heldout",
        help="the question templates: the training ones or the held-out paraphrases "
        "(default heldout)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=run_build_digits_chat)


def run_build_digits_chat(args: argparse.Namespace) -> int:
    try:
        out = build_digits_chat(
            args.digits,
            args.out,
            split=args.split,
            records=args.records,
            templates=args.templates,
            seed=args.seed,
        )
    except InputError as error:
        print(f"mmstudio: {error}", file=sys.stderr)
        return 2
    info = json.loads((out / BUILD_INFO).read_text("utf-8"))
    counts = ", ".join(f"{kind} {n}" for kind, n in info["kinds"].items())
    print(f"{info['records']} questions ({counts}) in {out}")
    return 0


def build_digits_chat(
    digits: str | Path,
    out: str | Path,
    *,
    split: str = "test",
    records: int = 600,
    templates: str = "heldout",
    seed: int = 0,
) -> Path:
    """Write ``records`` question/answer records drawn from ``split`` of the digits build
    ``digits`` into the new folder ``out``; returns it. Bad input raises InputError and
    leaves no ``out`` behind."""
    from mmstudio.training.chat.data import build_chat_records, describe_counts, write_chat_manifest
    from mmstudio.training.manifest import canonical_split, read_manifest

    digits, out = Path(digits), Path(out)
    if records < 1:
        raise InputError("--records must be at least 1")
    if out.exists():
        raise InputError("the output folder exists already: choose a new one", out)
    manifest = read_manifest(digits)
    chosen = manifest.split(split)
    if not chosen:
        raise InputError(f"the digits build has no '{canonical_split(split)}' records", digits)
    try:
        chat = build_chat_records(chosen, records, seed=seed, template_set=templates)
    except ValueError as error:
        raise InputError(str(error), digits) from None
    partial = out.with_name(f".{out.name}.building")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        copies: dict[Path, Path] = {}
        chat = [
            replace(
                record,
                image=_copied(record.image, manifest.root, partial, copies),
                audio=_copied(record.audio, manifest.root, partial, copies),
            )
            for record in chat
        ]
        write_chat_manifest(partial, chat)
        info = {
            "digits": str(digits.resolve()),
            "split": canonical_split(split),
            "records": len(chat),
            "templates": templates,
            "seed": seed,
            "kinds": describe_counts(chat),
            "media_files": len(copies),
        }
        (partial / BUILD_INFO).write_text(json.dumps(info, indent=1) + "\n", "utf-8")
        partial.rename(out)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise InputError(f"cannot write the dataset ({error.strerror or error})", out) from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return out


def _copied(path: Path | None, root: Path, folder: Path, copies: dict[Path, Path]) -> Path | None:
    """``path`` copied (once) under ``folder/media``, at its path relative to the digits build's
    ``root``; a file outside the build gets a name from its path's digest."""
    if path is None:
        return None
    source = Path(path).resolve()
    if source in copies:
        return copies[source]
    try:
        relative = source.relative_to(Path(root).resolve())
    except ValueError:
        digest = hashlib.sha256(str(source).encode("utf-8")).hexdigest()[:12]
        relative = Path("external") / f"{digest}-{source.name}"
    target = folder / MEDIA_FOLDER / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)  # no space used; the digits build's files are never edited
    except OSError:
        shutil.copy2(source, target)
    copies[source] = target
    return target
