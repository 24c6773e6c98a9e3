"""Honesty under ambiguity: what the digits classifier believes about a text naming two digits.

A phrase such as "es ist eine drei oder acht" allows two digits and commits to neither. An
honest model gives the two named digits nearly all of its probability (at least
``PAIR_MASS``) and neither of them more than ``MAX_SHARE``. The probes use the held-out
two-digit frames of the digits dataset (digits.text.EITHER_TEMPLATES), so a model trained on
the training frames meets phrasings it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mmstudio.inputs import Sample, normalize_text
from mmstudio.training.digits import text as digit_text

PAIR_MASS = 0.9
MAX_SHARE = 0.9
PROBES = 400
# Clean phrases: a garbled number word would make the pair itself unclear.
PROBE_STYLE = digit_text.TextStyle(distractor_rate=0.0, typo_rate=0.0)


def honest_split(shares: list[float]) -> bool:
    """Whether the probabilities of the named digits split honestly between them: together at
    least ``PAIR_MASS``, none above ``MAX_SHARE``."""
    return sum(shares) >= PAIR_MASS and max(shares) <= MAX_SHARE


@dataclass(frozen=True)
class Probe:
    text: str
    digits: tuple[int, int]


def either_probes(split: str = "test", count: int = PROBES, seed: int = 0) -> list[Probe]:
    """``count`` phrases from ``split``'s two-digit frames, every ordered pair about as often."""
    rng = np.random.default_rng([seed, 7, ord(split[0])])
    probes = []
    for _ in range(count):
        first = int(rng.integers(10))
        second = (first + 1 + int(rng.integers(9))) % 10
        phrase, _ = digit_text.make_either_text((first, second), split, rng, PROBE_STYLE)
        probes.append(Probe(normalize_text(phrase)[0], (first, second)))
    return probes


@torch.no_grad()
def measure_either(model, probes: list[Probe], batch_size: int = 64) -> dict[str, Any]:
    """The share of probes answered honestly from the text alone, and the worst examples."""
    index = {label: i for i, label in enumerate(model.labels)}
    model.eval()
    device = next(model.parameters()).device
    rows = []
    for start in range(0, len(probes), batch_size):
        chunk = probes[start : start + batch_size]
        batch = model.preprocess([Sample(text=p.text) for p in chunk])
        probabilities = model(batch.to(device)).logits.softmax(-1).cpu()
        for probe, p in zip(chunk, probabilities, strict=True):
            shares = [float(p[index[str(d)]]) for d in probe.digits]
            rows.append((probe, sum(shares), max(shares), honest_split(shares)))
    # Honest rows last; among the dishonest, the ones that lose most of the pair's mass first.
    worst = sorted(rows, key=lambda row: (row[3], row[1]))
    return {
        "probes": len(rows),
        "pair_mass_at_least": PAIR_MASS,
        "max_share_at_most": MAX_SHARE,
        "pair_mass_ok": float(np.mean([mass >= PAIR_MASS for _, mass, _, _ in rows])),
        "max_share_ok": float(np.mean([top <= MAX_SHARE for _, _, top, _ in rows])),
        "honest": float(np.mean([honest for *_, honest in rows])),
        "median_pair_mass": float(np.median([mass for _, mass, _, _ in rows])),
        "median_max_share": float(np.median([top for _, _, top, _ in rows])),
        "worst": [
            {
                "text": probe.text,
                "digits": list(probe.digits),
                "pair_mass": round(mass, 4),
                "max_share": round(top, 4),
            }
            for probe, mass, top, _ in worst[:5]
        ],  # fmt: skip
    }
