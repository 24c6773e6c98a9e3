"""The swap test over a dataset: a causal reading of modality reliance, next to the Shapley one.

For each modality m, up to N records are drawn (seeded, reproducible) among the analysed
records that have m and at least one other modality (with m alone, a swap replaces the whole
input and the answer follows the donor trivially). Each gets a donor: a random other analysed
record of another class that has m. The record is analysed again with its m taken from the
donor (:func:`mmstudio.explain.swaps.swapped`) and compared with what the stored rows say:

* ``changed``: the prediction differs from the record's own (its stored prediction);
* ``follows_donor_class``: it changed, to the donor's class;
* ``follows_donor_alone``: it changed, to what the donor's m predicts on its own (the donor's
  single-modality coalition, stored in its row); this is
  :attr:`mmstudio.explain.swaps.SwapOutcome.follows`.

A record's class is its label, or its prediction when it has no label the model knows. The
two "follows" rates differ where the donor's m alone does not say the donor's class.

Only the swapped samples run through the model, batched, without heatmaps: the record's own
prediction and the donor's single-modality prediction are read from the rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmstudio.datasets.analysed_rows import AnalysedRows
from mmstudio.datasets.batch import read_error
from mmstudio.datasets.figures import percent
from mmstudio.explain.swaps import swapped

# 500 swaps per modality put each rate within about ±4.4 points (95%, the worst case
# p = 0.5). A swap is one analysis without heatmaps, batched, plus opening two records: with
# the shipped model about 2 ms on 2 CPU cores, so some 3 s for three modalities (more where
# decoding large files dominates), whatever the size of the dataset.
DEFAULT_RECORDS = 500
BATCH_SIZE = 32


@dataclass(frozen=True)
class SwapPair:
    """One drawn swap: row indices into AnalysedRows, and what the rows say about them."""

    modality: str
    recipient: int
    donor: int
    before: int  # the recipient's stored prediction
    donor_class: int
    donor_alone: int  # the donor's modality alone: its stored single-coalition prediction


@dataclass
class SwapTrial:
    pair: SwapPair
    after: int | None = None  # the swapped sample's prediction; None if it failed
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.after is not None and self.after != self.pair.before

    @property
    def follows_donor_class(self) -> bool:
        return self.changed and self.after == self.pair.donor_class

    @property
    def follows_donor_alone(self) -> bool:
        return self.changed and self.after == self.pair.donor_alone


def swap_pairs(rows: AnalysedRows, modality: str, records: int, seed: int) -> list[SwapPair]:
    """Up to ``records`` swaps of ``modality``, drawn as the module docstring says. The same
    rows, count and seed give the same pairs."""
    if modality not in rows.modalities or records <= 0 or not len(rows):
        return []
    rng = np.random.default_rng([seed, rows.modalities.index(modality)])
    has = rows.has(modality)
    others = rows.present.sum(1) - has
    recipients = np.flatnonzero(has & (others > 0))
    donors = np.flatnonzero(has)
    alone = rows.alone_predictions(modality)
    pairs = []
    for recipient in rng.permutation(recipients)[:records]:
        candidates = donors[rows.classes[donors] != rows.classes[recipient]]
        if not len(candidates):
            continue
        donor = int(candidates[rng.integers(len(candidates))])
        pairs.append(
            SwapPair(
                modality,
                int(recipient),
                donor,
                int(rows.predicted[recipient]),
                int(rows.classes[donor]),
                int(alone[donor]),
            )
        )
    return pairs


def swap_test_steps(
    analyzer,
    rows: AnalysedRows,
    *,
    records: int = DEFAULT_RECORDS,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
) -> Iterator[tuple[int, int]]:
    """A generator: yields (swaps done, swaps in all) after each batch of ``batch_size`` and
    returns the ``swap_test`` section. ``analyzer`` should be one without heatmaps (only
    predictions are read)."""
    plans = {m: swap_pairs(rows, m, records, seed) for m in rows.modalities}
    total = sum(len(p) for p in plans.values())
    trials: dict[str, list[SwapTrial]] = {}
    done = 0
    for modality, pairs in plans.items():
        trials[modality] = []
        for start in range(0, len(pairs), batch_size):
            batch = pairs[start : start + batch_size]
            trials[modality] += run_swaps(analyzer, rows, batch)
            done += len(batch)
            yield done, total
    return swap_section(rows, trials, records=records, seed=seed)


def run_swaps(analyzer, rows: AnalysedRows, pairs: list[SwapPair]) -> list[SwapTrial]:
    """The swapped samples of ``pairs`` through ``analyzer`` in one batch."""
    trials = [SwapTrial(pair) for pair in pairs]
    samples, ready = [], []
    for trial in trials:
        try:
            recipient = rows.sample(trial.pair.recipient)
            donor = rows.sample(trial.pair.donor)
        except Exception as error:  # noqa: BLE001 - a file changed since: that swap's error
            trial.error = read_error(error)
            continue
        samples.append(swapped(recipient, donor, trial.pair.modality))
        ready.append(trial)
    if not samples:
        return trials
    try:
        analyses = analyzer.analyze_batch(samples)
    except Exception:  # noqa: BLE001 - one bad sample must not cost the batch
        analyses = [_one(analyzer, sample) for sample in samples]
    for trial, analysis in zip(ready, analyses, strict=True):
        if isinstance(analysis, str):
            trial.error = analysis
        else:
            trial.after = analysis.predicted_index
    return trials


def _one(analyzer, sample):
    try:
        return analyzer.analyze(sample)
    except Exception as error:  # noqa: BLE001
        return f"the model failed on the swapped sample ({type(error).__name__}: {error})"


def swap_section(
    rows: AnalysedRows, trials: dict[str, list[SwapTrial]], *, records: int, seed: int
) -> dict[str, Any]:
    modalities = {}
    for modality, found in trials.items():
        done = [t for t in found if t.after is not None]
        entry = _rates(done)
        entry["failed"] = len(found) - len(done)
        if not found:
            entry["note"] = f"no record has {modality} and another modality, with a donor"
        by_class: dict[str, list[SwapTrial]] = {}
        for trial in done:
            by_class.setdefault(rows.labels[rows.classes[trial.pair.recipient]], []).append(trial)
        entry["per_class"] = {
            label: _rates(by_class[label]) for label in rows.labels if label in by_class
        }
        modalities[modality] = entry
    return {
        "records_per_modality": records,
        "seed": seed,
        "classes": "label, or the prediction for records without a label the model knows",
        "modalities": modalities,
    }


def _rates(trials: list[SwapTrial]) -> dict[str, Any]:
    n = len(trials)

    def rate(name: str) -> float | None:
        return sum(getattr(t, name) for t in trials) / n if n else None

    return {
        "n": n,
        "changed": rate("changed"),
        "follows_donor_class": rate("follows_donor_class"),
        "follows_donor_alone": rate("follows_donor_alone"),
    }


def format_swap_test(section: dict[str, Any]) -> list[str]:
    lines = [
        "Swap test (one modality from a record of another class): prediction changed / "
        "followed the donor's class / followed the donor's modality alone:"
    ]
    for modality, entry in section["modalities"].items():
        if not entry["n"]:
            lines.append(f"  {modality:<8} not measured: {entry.get('note', 'every swap failed')}")
            continue
        lines.append(
            f"  {modality:<8} {percent(entry['changed'], 0):>6} / "
            f"{percent(entry['follows_donor_class'], 0):>6} / "
            f"{percent(entry['follows_donor_alone'], 0):>6}  (n={entry['n']})"
        )
    return lines
