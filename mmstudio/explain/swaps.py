"""Modality swaps: a causal reading of modality reliance, next to the Shapley reading.

Replace one modality of a sample with another sample's and analyse again: if the prediction
moves to what the swapped-in modality says on its own, the model relied on that modality for
this sample. Shapley values say how much each modality changed the score; a swap says whether
the answer follows a modality when it is made to disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mmstudio.inputs.sample import Sample
from mmstudio.result import Analysis


def swapped(sample: Sample, donor: Sample, modality: str) -> Sample:
    """``sample`` with its ``modality`` taken from ``donor`` (absent if the donor lacks it)."""
    if modality not in ("image", "text", "audio"):
        raise ValueError(f"unknown modality {modality!r}")
    return replace(sample, **{modality: getattr(donor, modality)})


@dataclass
class SwapOutcome:
    """Before and after one swap; ``donor_says`` is the donor's modality's own prediction."""

    modality: str
    before: Analysis
    after: Analysis
    donor_says: str

    @property
    def changed(self) -> bool:
        return self.after.predicted_label != self.before.predicted_label

    @property
    def follows(self) -> bool:
        """The prediction moved to what the swapped-in modality says on its own."""
        return self.changed and self.after.predicted_label == self.donor_says


def swap(analyzer, sample: Sample, donor: Sample, modality: str) -> SwapOutcome:
    """Analyse ``sample`` with its ``modality`` from ``donor``, and both as they are; the three
    analyses run as one batch."""
    alone = Sample(**{modality: getattr(donor, modality)})
    if modality not in alone.present:
        raise ValueError(f"the donor sample has no {modality} to swap in")
    before, after, donor_alone = analyzer.analyze_batch(
        [sample, swapped(sample, donor, modality), alone]
    )
    return SwapOutcome(modality, before, after, donor_alone.predicted_label)
