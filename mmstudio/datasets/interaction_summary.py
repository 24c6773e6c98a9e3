"""Modality interactions per class, from the coalition values every row already stores.

Each row keeps v(S) for all 2^M coalitions S of modalities (v: the log-probability of the
record's predicted class), so the exact interaction indices of :mod:`mmstudio.explain.
interactions` are one matrix product per batch of rows: no model run. Per class, for each pair
of modalities {i, j}:

* ``shapley_interaction``: the mean pairwise Shapley interaction index;
* ``moebius``: the mean Möbius synergy m({i, j}) = v(ij) - v(i) - v(j) + v(∅), what the two add
  together beyond what each adds alone (> 0 synergy, < 0 redundancy);
* ``agreement`` / ``alone`` / ``neither``: how each record's score comes about, by this rule
  on the Möbius terms m_i = v(i) - v(∅), m_j = v(j) - v(∅) and m_ij:

  - **agreement** when m_ij > 0 and m_ij > max(m_i, m_j): the pair's synergy is positive and
    larger than either modality's own contribution, so the model needs the two together;
  - otherwise **alone** (credited to the member with the larger single term) when
    max(m_i, m_j) > 0: one modality on its own carries at least as much as the synergy;
  - otherwise **neither**: no positive term, neither alone nor together the pair raises the
    score of the prediction.

  The three shares add up to 1 over the records that have both modalities. Per class,
  ``relies_on`` pools them over every pair each record has, and ``reading`` says it in words.

With three or more modalities every larger subset's Möbius term (for M = 3 the triple's) is
averaged too, under ``higher_order``. A record counts for a pair (or subset) only if it has
every modality in it: for a missing modality every index is exactly 0 (a dummy player), and
averaging those zeros would dilute the records that can show an interaction.

Classes are the records' labels when some record has a label the model knows, else their
predictions, as in the reliance figures (``interactions["by"]`` says which).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmstudio.datasets.figures import ratio

VERDICTS = ("agreement", "alone_first", "alone_second", "neither")
_AGREEMENT, _FIRST, _SECOND, _NEITHER = range(len(VERDICTS))


def pair_verdicts(single_i: np.ndarray, single_j: np.ndarray, synergy: np.ndarray) -> np.ndarray:
    """The rule of the module docstring, elementwise: indices into ``VERDICTS``."""
    strongest = np.maximum(single_i, single_j)
    return np.select(
        [(synergy > 0) & (synergy > strongest), (strongest > 0) & (single_i >= single_j)],
        [_AGREEMENT, _FIRST],
        default=np.where(strongest > 0, _SECOND, _NEITHER),
    )


class _Tally:
    """Per class sums over the records that have each pair / higher-order subset."""

    def __init__(self, classes: int, pairs: int, higher: int):
        self.records = np.zeros(classes, dtype=np.int64)
        self.pair_counts = np.zeros((classes, pairs), dtype=np.int64)
        self.shapley_interaction = np.zeros((classes, pairs))
        self.moebius = np.zeros((classes, pairs))
        self.verdicts = np.zeros((classes, pairs, len(VERDICTS)), dtype=np.int64)
        self.higher_counts = np.zeros((classes, higher), dtype=np.int64)
        self.higher = np.zeros((classes, higher))

    def add(self, classes, pair_valid, sii, pair_moebius, verdicts, higher_valid, higher):
        np.add.at(self.records, classes, 1)
        np.add.at(self.pair_counts, classes, pair_valid)
        np.add.at(self.shapley_interaction, classes, np.where(pair_valid, sii, 0.0))
        np.add.at(self.moebius, classes, np.where(pair_valid, pair_moebius, 0.0))
        one_hot = (verdicts[..., None] == np.arange(len(VERDICTS))) & pair_valid[..., None]
        np.add.at(self.verdicts, classes, one_hot)
        np.add.at(self.higher_counts, classes, higher_valid)
        np.add.at(self.higher, classes, np.where(higher_valid, higher, 0.0))


class InteractionSummary:
    """Accumulates interactions per class from batches of analysed rows."""

    def __init__(self, labels: list[str], modalities: list[str], members: np.ndarray):
        """``members``: (K, M) bool, which modalities each stored coalition holds, in the
        order of the rows' ``coalition_values``."""
        from mmstudio.explain.interactions import JOIN, interaction_matrices

        self.labels, self.modalities = labels, modalities
        self.matrices = interaction_matrices(np.asarray(members, dtype=bool))
        self.pairs: list[tuple[int, ...]] = self.matrices.subsets["shapley_interaction"]
        every = self.matrices.subsets["moebius"]
        self._single_rows = [every.index((p,)) for p in range(len(modalities))]
        self._pair_rows = [every.index(pair) for pair in self.pairs]
        self.higher = [subset for subset in every if len(subset) >= 3]
        self._higher_rows = [every.index(subset) for subset in self.higher]
        self.names = {s: JOIN.join(modalities[p] for p in s) for s in every}
        sizes = (len(labels), len(self.pairs), len(self.higher))
        self.by_label, self.by_prediction = _Tally(*sizes), _Tally(*sizes)

    def add(
        self, values: np.ndarray, present: np.ndarray, labels: np.ndarray, predicted: np.ndarray
    ) -> None:
        """Analysed rows: ``values`` (N, K) coalition values, ``present`` (N, M) bool,
        ``labels`` (N,) label index or -1, ``predicted`` (N,) predicted index."""
        if not self.pairs or len(values) == 0:
            return
        from mmstudio.explain.interactions import interaction_values

        computed = interaction_values(values, self.matrices)
        moebius = computed["moebius"]
        single = moebius[:, self._single_rows]
        first = [i for i, _ in self.pairs]
        second = [j for _, j in self.pairs]
        parts = (
            present[:, first] & present[:, second],
            computed["shapley_interaction"],
            moebius[:, self._pair_rows],
            pair_verdicts(single[:, first], single[:, second], moebius[:, self._pair_rows]),
            np.stack([present[:, list(s)].all(1) for s in self.higher], 1)
            if self.higher
            else np.zeros((len(values), 0), dtype=bool),
            moebius[:, self._higher_rows],
        )
        self.by_prediction.add(predicted, *parts)
        known = labels >= 0
        if known.any():
            self.by_label.add(labels[known], *(part[known] for part in parts))

    def result(self, by_label: bool) -> dict[str, Any]:
        tally = self.by_label if by_label else self.by_prediction
        per_class = {
            label: self._entry(tally, slice(c, c + 1)) for c, label in enumerate(self.labels)
        }
        return {
            "by": "label" if by_label else "prediction",
            "value": "log-probability of the predicted class",
            "pairs": [self.names[p] for p in self.pairs],
            "higher_order": [self.names[s] for s in self.higher],
            "per_class": per_class,
            "overall": self._entry(tally, slice(None)),
        }

    def _entry(self, tally: _Tally, rows: slice) -> dict[str, Any]:
        counts = tally.pair_counts[rows].sum(0)
        verdicts = tally.verdicts[rows].sum(0)
        pairs = {}
        for p, pair in enumerate(self.pairs):
            n = int(counts[p])
            first, second = (self.modalities[i] for i in pair)
            share = [ratio(verdicts[p, v], n) for v in range(len(VERDICTS))]
            pairs[self.names[pair]] = {
                "count": n,
                "shapley_interaction": ratio(tally.shapley_interaction[rows, p].sum(), n),
                "moebius": ratio(tally.moebius[rows, p].sum(), n),
                "agreement": share[_AGREEMENT],
                "alone": {first: share[_FIRST], second: share[_SECOND]},
                "neither": share[_NEITHER],
            }
        higher_counts = tally.higher_counts[rows].sum(0)
        higher = {
            self.names[s]: {
                "count": int(higher_counts[h]),
                "moebius": ratio(tally.higher[rows, h].sum(), higher_counts[h]),
            }
            for h, s in enumerate(self.higher)
        }
        entry = {"count": int(tally.records[rows].sum()), "pairs": pairs, "higher_order": higher}
        entry["relies_on"] = relies_on(pairs)
        entry["reading"] = reading(entry["relies_on"])
        return entry


def relies_on(pairs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The verdicts pooled over every pair a record has (each record-and-pair counts once):
    the share needing two modalities together, each modality carrying it alone, neither."""
    total = sum(entry["count"] for entry in pairs.values())
    if not total:
        return {"count": 0, "agreement": None, "alone": {}, "neither": None}

    def pooled(share_of) -> float:
        return sum(share_of(e) * e["count"] for e in pairs.values() if e["count"]) / total

    modalities = dict.fromkeys(m for entry in pairs.values() for m in entry["alone"])
    return {
        "count": total,
        "agreement": pooled(lambda e: e["agreement"]),
        "alone": {m: pooled(lambda e, m=m: e["alone"].get(m, 0.0)) for m in modalities},
        "neither": pooled(lambda e: e["neither"]),
    }


def reading(pooled: dict[str, Any]) -> str:
    """``relies_on`` in words, largest share first: "text alone 60% · agreement 30% · ..."."""
    if not pooled["count"]:
        return "no record has two modalities"
    shares = {"agreement": pooled["agreement"], "neither": pooled["neither"]}
    shares.update({f"{m} alone": share for m, share in pooled["alone"].items()})
    ranked = sorted(((v, k) for k, v in shares.items() if v > 0), reverse=True)
    return " · ".join(f"{name} {value:.0%}" for value, name in ranked)


def format_interactions(section: dict[str, Any]) -> list[str]:
    """The section as the command line prints it: per class, each pair's mean synergy."""
    columns = section["pairs"] + section["higher_order"]
    if not columns:
        return []
    width = max(12, *(len(c) + 2 for c in columns))
    lines = [
        f"Modality interactions by {section['by']}: mean Möbius synergy of the log-probability "
        "(+ needed together, - redundant), and what each class relies on (over the pairs its "
        "records have):",
        "  " + " " * 10 + "".join(f"{c:>{width}}" for c in columns),
    ]
    for label, entry in [*section["per_class"].items(), ("all", section["overall"])]:
        if not entry["count"]:
            continue
        terms = {**entry["pairs"], **entry["higher_order"]}
        cells = "".join(f"{_signed(terms[c]['moebius']):>{width}}" for c in columns)
        lines.append(f"  {label:<10}{cells}   {entry['reading']}")
    return lines


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"
