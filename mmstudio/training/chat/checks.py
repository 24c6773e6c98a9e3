"""The explanation checks of digits-chat's model card: does the explanation show what the model
does?

Each record is analysed by the studio's own Analyzer (the exact per-token Shapley values and
interactions the window shows). The values are read on the answer's number words ("seven",
"ten"): those are the tokens a source decides; the rest of an answer ("The image shows ...")
follows from the question. Three checks, as issue 20 states them:

- ``pair_both_positive``: on two-source questions answered correctly, both asked sources have a
  positive Shapley value on the number words;
- ``sum_synergy``: on sums of the image and the voice, the image x audio Shapley interaction on
  the number words is positive (the result word needs both);
- ``single_largest``: on single-source questions, the asked source has the largest value.

The same analyses give the calibration of the number words: the probability the model gave each
number word it said, against whether that word is the expected answer's word in that place.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from mmstudio.training.chat.data import ChatRecord, to_sample
from mmstudio.training.chat.evaluate import lacks_answer, normalised
from mmstudio.training.chat.questions import NUMBER_WORDS, PAIR_KINDS, SINGLE_KINDS

INDEX = "shapley_interaction"
NUMBERS = frozenset(NUMBER_WORDS)


def number_word_tokens(analysis: Any) -> list[int]:
    """The positions of the answer's number words among its tokens."""
    return [
        i
        for i, token in enumerate(analysis.answer_tokens)
        if token.strip(" .,;:!?").lower() in NUMBERS
    ]


def number_word_values(analysis: Any) -> tuple[dict[str, float], float | None]:
    """(each modality's Shapley value summed over the number words, the image x audio
    interaction summed over them, None where the sample lacks either)."""
    positions = number_word_tokens(analysis)
    values = np.asarray(analysis.token_shapley)[positions].sum(0) if positions else None
    shapley = {
        m: float(values[i]) if values is not None else 0.0
        for i, m in enumerate(analysis.modalities)
        if m in analysis.present
    }
    pair = "image+audio"
    interaction = None
    if {"image", "audio"} <= set(analysis.present):
        interaction = float(
            sum(analysis.token_interactions[t][INDEX].get(pair, 0.0) for t in positions)
        )
    return shapley, interaction


def explanation_checks(model: Any, records: Sequence[ChatRecord]) -> dict[str, Any]:
    """Analyse ``records`` (questions whose asked sources are present) and count each check."""
    from mmstudio.analysis import Analyzer

    analyzer = Analyzer(model)
    counts = {
        "pair_both_positive": [0, 0],
        "sum_synergy": [0, 0],
        "sum_synergy_all": [0, 0],
        "single_largest": [0, 0],
    }
    examples: dict[str, list[dict[str, Any]]] = {k: [] for k in counts}
    seconds = []
    calibration: list[tuple[float, bool]] = []
    for record in records:
        if lacks_answer(record) or record.kind not in (*SINGLE_KINDS, *PAIR_KINDS):
            continue
        started = time.perf_counter()
        analysis = analyzer.analyze(to_sample(record))
        seconds.append(time.perf_counter() - started)
        right = normalised(analysis.answer) == normalised(record.answer)
        shapley, interaction = number_word_values(analysis)
        calibration.extend(number_word_calibration(analysis, record.answer))
        outcomes = {}
        if record.kind in PAIR_KINDS and right:
            outcomes["pair_both_positive"] = all(shapley.get(m, 0.0) > 0 for m in record.asked)
        if record.kind == "sum" and set(record.asked) == {"image", "audio"}:
            outcomes["sum_synergy_all"] = interaction is not None and interaction > 0
            if right:
                outcomes["sum_synergy"] = outcomes["sum_synergy_all"]
        if record.kind in SINGLE_KINDS:
            outcomes["single_largest"] = max(shapley, key=shapley.get) == record.asked[0]
        for check, passed in outcomes.items():
            counts[check][0] += passed
            counts[check][1] += 1
            if not passed and len(examples[check]) < 5:
                examples[check].append(
                    {
                        "id": record.id,
                        "text": str(record.text),
                        "answer": analysis.answer,
                        "shapley": {k: round(v, 3) for k, v in shapley.items()},
                        "interaction": None if interaction is None else round(interaction, 3),
                    }
                )
    return {
        "checks": {
            k: {"rate": round(v[0] / v[1], 4) if v[1] else None, "n": v[1]}
            for k, v in counts.items()
        },
        "failures": examples,
        "median_analysis_seconds": round(float(np.median(seconds)), 3) if seconds else None,
        "calibration": calibration_table(calibration),
    }


def number_word_calibration(analysis: Any, expected: str) -> list[tuple[float, bool]]:
    """(probability, right) for each number word of the answer: right when the expected answer
    has the same word at the same place among its number words."""
    wanted = [
        w for w in normalised(expected).replace(".", " ").replace(";", " ").split() if w in NUMBERS
    ]
    logprobs = np.asarray(analysis.token_coalition_logprobs)[-1]
    return [
        (
            float(np.exp(logprobs[t])),
            k < len(wanted) and wanted[k] == analysis.answer_tokens[t].strip(" .,;:!?").lower(),
        )
        for k, t in enumerate(number_word_tokens(analysis))
    ]


def calibration_table(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> dict[str, Any]:
    """Expected calibration error over equal-width probability bins, and the bins themselves."""
    if not pairs:
        return {"ece": None, "n": 0, "bins": []}
    confidence = np.array([p for p, _ in pairs])
    right = np.array([r for _, r in pairs], dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        members = index == b
        if not members.any():
            continue
        mean_confidence, accuracy = float(confidence[members].mean()), float(right[members].mean())
        ece += members.mean() * abs(mean_confidence - accuracy)
        table.append(
            {
                "from": round(float(edges[b]), 2),
                "to": round(float(edges[b + 1]), 2),
                "n": int(members.sum()),
                "confidence": round(mean_confidence, 4),
                "accuracy": round(accuracy, 4),
            }
        )
    return {"ece": round(float(ece), 4), "n": len(pairs), "bins": table}
