"""Scoring digits-chat: greedy answers through the studio's own generative path, exact match.

The model is asked through ``GenerativeModel.generate`` with the record as the studio's Sample
(the same prompt the window builds), so the score is the score of the model as shipped.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mmstudio.training.chat.data import ChatRecord, to_sample


def normalised(answer: str) -> str:
    """Lowercase, single spaces, no space before punctuation: how answers are compared."""
    text = " ".join(answer.lower().split())
    return re.sub(r"\s+([.,;:?!])", r"\1", text)


def lacks_answer(record: ChatRecord) -> bool:
    """The record asks about a medium the prompt does not hold."""
    return any(m not in record.present for m in record.asked)


@dataclass
class ChatScore:
    total: int = 0
    correct: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [correct, total]
    by_present: dict[str, list[int]] = field(default_factory=dict)
    missing: list[int] = field(default_factory=lambda: [0, 0])  # named the lacking medium
    tokens: int = 0
    generate_seconds: float = 0.0
    first_token_seconds: list[float] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def rate(pair):
            return round(pair[0] / pair[1], 4) if pair[1] else None

        ttft = sorted(self.first_token_seconds)
        return {
            "records": self.total,
            "accuracy": round(self.correct / self.total, 4) if self.total else None,
            "by_kind": {
                k: {"accuracy": rate(v), "n": v[1]} for k, v in sorted(self.by_kind.items())
            },
            "by_present": {
                k: {"accuracy": rate(v), "n": v[1]} for k, v in sorted(self.by_present.items())
            },
            "missing_named": {"rate": rate(self.missing), "n": self.missing[1]},
            "tokens_per_second": round(self.tokens / self.generate_seconds, 1)
            if self.generate_seconds
            else None,
            "median_first_token_ms": round(1000 * ttft[len(ttft) // 2], 1) if ttft else None,
        }


def evaluate_chat(model: Any, records: Sequence[ChatRecord], max_new_tokens: int = 40) -> ChatScore:
    """Greedy answers of a ``GenerativeModel`` to ``records``, scored by exact match (after
    ``normalised``), per question kind, per set of sources present, and, for questions about a
    missing medium, whether the answer names exactly what is missing."""
    from mmstudio.models.generative.options import GenerationOptions

    options = GenerationOptions(max_new_tokens=max_new_tokens)
    score = ChatScore()
    for record in records:
        sample = to_sample(record)
        started = time.perf_counter()
        generated = model.generate(sample, options)
        score.generate_seconds += time.perf_counter() - started
        score.tokens += len(generated.token_ids) + (generated.finished == "eos")
        if generated.first_token_seconds is not None:
            score.first_token_seconds.append(generated.first_token_seconds)
        said = model.decode(generated.token_ids)
        right = normalised(said) == normalised(record.answer)
        score.total += 1
        score.correct += right
        kind = f"{record.kind}:missing" if lacks_answer(record) else record.kind
        _count(score.by_kind, kind, right)
        _count(score.by_present, "+".join(record.present), right)
        if lacks_answer(record):
            score.missing[1] += 1
            score.missing[0] += _names_lack(said, record)
        if not right and len(score.failures) < 40:
            score.failures.append(
                {"id": record.id, "text": str(record.text), "said": said, "expected": record.answer}
            )
    return score


def _names_lack(said: str, record: ChatRecord) -> bool:
    """The answer says "no image" / "no voice" for each missing medium and for no other."""
    text = normalised(said)
    words = {"image": "no image", "audio": "no voice"}
    for medium, phrase in words.items():
        if (phrase in text) != (medium in record.asked and medium not in record.present):
            return False
    return True


def _count(table: dict[str, list[int]], key: str, right: bool) -> None:
    entry = table.setdefault(key, [0, 0])
    entry[0] += right
    entry[1] += 1
