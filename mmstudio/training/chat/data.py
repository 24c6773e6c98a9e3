"""Question/answer records for digits-chat, built from the digits dataset's records.

Every chat record takes each source it uses from its own digits record (drawn by digit from the
same split), so the image, the voice and the typed text can name different digits: that is what
a sum, a disagreement or a comparison needs. A record's split is its digits records' split, so
held-out fonts, writers and voices stay held out; the question templates are chosen separately
(``train`` or ``heldout``, see questions.py).

The records are written as a manifest the ordinary reader opens (manifest.py): ``label`` is the
question kind (labels.txt lists them), ``text`` is what the user typed (the framed phrase and
the question; absent for ``describe``), and the expected answer is the ``answer`` column.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmstudio.inputs.text import normalize_text
from mmstudio.training.chat import questions
from mmstudio.training.manifest import Record, read_manifest, write_manifest

# How often each kind is drawn (normalised). Pairs are asked more: they have three source pairs.
KIND_WEIGHTS: dict[str, float] = {
    "image": 1.0,
    "audio": 1.2,
    "text": 1.0,
    "sum": 1.2,
    "difference": 1.0,
    "agree": 1.0,
    "larger": 1.0,
    "describe": 0.8,
}


@dataclass(frozen=True)
class ChatMix:
    """How records are drawn besides the kind.

    ``missing``: a question about the image or the audio is asked without it (at least one of
    the asked media is dropped). ``distractor``: a medium the question does not ask about is in
    the prompt all the same, so the model learns to use only the asked one. ``same_digit``: an
    agree question whose two sources name the same digit (otherwise they are independent)."""

    missing: float = 0.15
    distractor: float = 0.5
    same_digit: float = 0.5
    kind_weights: tuple[tuple[str, float], ...] = tuple(KIND_WEIGHTS.items())


@dataclass(frozen=True)
class ChatRecord:
    id: str
    split: str
    kind: str
    asked: tuple[str, ...]
    image: Path | None
    audio: Path | None
    text: str | None  # what the user typed: the framed phrase and the question
    digits: dict[str, int]  # the digit of each source in the prompt (text: the typed phrase)
    answer: str
    template_set: str
    template: str = ""
    sources: dict[str, str] = field(default_factory=dict)  # digits record id per source

    @property
    def present(self) -> tuple[str, ...]:
        found = [m for m in questions.MEDIA if getattr(self, m) is not None]
        return (*found, *(("text",) if self.text else ()))


def build_chat_records(
    digits_records: Sequence[Record],
    count: int,
    *,
    seed: int = 0,
    template_set: str = "train",
    mix: ChatMix = ChatMix(),
    prefix: str = "",
) -> list[ChatRecord]:
    """``count`` chat records drawn from ``digits_records`` (all of one split), repeatable for
    a seed. Raises ValueError when a digit has no record to draw from."""
    if not digits_records:
        raise ValueError("no digits records to build questions from")
    splits = {r.split for r in digits_records}
    if len(splits) != 1:
        raise ValueError(f"build from one split at a time, not {sorted(map(str, splits))}")
    split = splits.pop() or "train"
    pools = _pools(digits_records)
    names = [k for k, _ in mix.kind_weights]
    weights = np.array([w for _, w in mix.kind_weights], dtype=float)
    rng = np.random.default_rng([seed, _stream(split), _stream(template_set)])
    out = []
    for index in range(count):
        kind = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        out.append(
            _draw(kind, pools, rng, mix, template_set, f"{prefix}{split}-q{index:06d}", split)
        )
    return out


def _stream(name: str) -> int:
    return sum(ord(c) * 31**i for i, c in enumerate(name)) % (2**31)


def _pools(records: Sequence[Record]) -> dict[str, dict[int, list[Record]]]:
    pools: dict[str, dict[int, list[Record]]] = {
        s: {d: [] for d in range(10)} for s in questions.SOURCES
    }
    for record in records:
        digit = int(record.label)
        for source in questions.SOURCES:
            # A phrase that names two digits ("three or eight") answers no question about one.
            if getattr(record, source) is not None and source not in record.modality_labels:
                pools[source][digit].append(record)
    for source, by_digit in pools.items():
        empty = [d for d, found in by_digit.items() if not found]
        if empty:
            raise ValueError(f"no {source} of digit(s) {empty} to draw questions from")
    return pools


def _draw(kind, pools, rng, mix: ChatMix, template_set: str, record_id: str, split: str):
    asked = questions.asked_for(kind, rng)
    if kind == "describe":
        shown = [("image",), ("audio",), ("image", "audio")][int(rng.integers(3))]
        in_prompt = set(shown)
    else:
        in_prompt = set(asked)
        asked_media = [m for m in asked if m in questions.MEDIA]
        if asked_media and rng.random() < mix.missing:
            dropped = [m for m in asked_media if rng.random() < 0.5] or [
                asked_media[int(rng.integers(len(asked_media)))]
            ]
            in_prompt -= set(dropped)
        for medium in questions.MEDIA:
            if medium not in asked and rng.random() < mix.distractor:
                in_prompt.add(medium)
        in_prompt.add("text")  # the question itself
    digits = {s: int(rng.integers(10)) for s in questions.SOURCES}
    if kind == "agree" and rng.random() < mix.same_digit:
        digits[asked[1]] = digits[asked[0]]
    if kind == "larger" and rng.random() < 0.1:
        digits[asked[1]] = digits[asked[0]]
    used = {s: _pick(pools[s][digits[s]], rng) for s in questions.SOURCES if s in in_prompt}
    if "text" in used and "text" not in asked:
        del used["text"]  # the question's own text names no number unless asked about
    question = questions.draw_question(kind, asked, template_set, rng)
    text = question.render(used["text"].text if "text" in used else None)
    if text is not None:
        text = normalize_text(text)[0]  # as the studio cleans what is typed (NFKC, spaces)
    present = tuple(s for s in questions.SOURCES if s in in_prompt)
    return ChatRecord(
        id=record_id,
        split=split,
        kind=kind,
        asked=asked,
        image=used["image"].image if "image" in used else None,
        audio=used["audio"].audio if "audio" in used else None,
        text=text,
        digits={s: digits[s] for s in used},
        answer=questions.answer(kind, asked, digits, present),
        template_set=template_set,
        template=question.template,
        sources={s: r.id for s, r in used.items()},
    )


def _pick(options: list[Record], rng: np.random.Generator) -> Record:
    return options[int(rng.integers(len(options)))]


# ------------------------------------------------------------------------------- the manifest


def write_chat_manifest(folder: str | Path, records: Sequence[ChatRecord]) -> Path:
    """Write the records as ``manifest.jsonl`` + ``labels.txt`` (the kinds) in ``folder``."""
    rows = [
        Record(
            id=r.id,
            label=r.kind,
            image=r.image,
            audio=r.audio,
            text=r.text,
            split=r.split,
            answer=r.answer,
            meta={
                "asked": list(r.asked),
                "digits": dict(r.digits),
                "template_set": r.template_set,
                "template": r.template,
                "sources": dict(r.sources),
            },
        )
        for r in records
    ]
    return write_manifest(folder, rows, questions.KINDS)


def read_chat_manifest(folder: str | Path) -> list[ChatRecord]:
    """The chat records of a manifest written by ``write_chat_manifest``."""
    manifest = read_manifest(folder)
    out = []
    for record in manifest.records:
        meta = record.meta
        if record.answer is None:
            raise ValueError(f"record {record.id} has no 'answer' column")
        out.append(
            ChatRecord(
                id=record.id,
                split=record.split or "train",
                kind=str(record.label),
                asked=tuple(meta.get("asked", ())),
                image=record.image,
                audio=record.audio,
                text=record.text,
                digits={k: int(v) for k, v in dict(meta.get("digits", {})).items()},
                answer=record.answer,
                template_set=str(meta.get("template_set", "train")),
                template=str(meta.get("template", "")),
                sources={k: str(v) for k, v in dict(meta.get("sources", {})).items()},
            )
        )
    return out


def to_sample(record: ChatRecord):
    """The record as the studio's Sample (the same loaders and text cleaning as the window)."""
    from mmstudio.inputs import make_sample

    return make_sample(image=record.image, text=record.text, audio=record.audio)


def describe_counts(records: Sequence[ChatRecord]) -> dict[str, int]:
    """How many records of each kind, for logs and the model card."""
    counts: dict[str, int] = {}
    for record in records:
        counts[record.kind] = counts.get(record.kind, 0) + 1
    return dict(sorted(counts.items()))


def dumps(record: ChatRecord) -> str:
    """One record as a JSON line, for logs."""
    return json.dumps(
        {
            "id": record.id,
            "kind": record.kind,
            "present": record.present,
            "text": record.text,
            "answer": record.answer,
        },
        ensure_ascii=False,
    )
