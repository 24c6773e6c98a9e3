"""Modality swaps: a causal reading of modality reliance, next to the Shapley reading.

Replace one modality of a sample with another sample's and analyse again: if the prediction
moves to what the swapped-in modality says on its own, the model relied on that modality for
this sample. Shapley values say how much each modality changed the score; a swap says whether
the answer follows a modality when it is made to disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mmstudio.inputs.donor import MODALITY_NAMES, Donor
from mmstudio.inputs.errors import InputError
from mmstudio.inputs.sample import Sample
from mmstudio.result import Analysis

EMPTY_SAMPLE = "the current sample is empty: give it an input before swapping one in"


def swapped(sample: Sample, donor: Sample, modality: str) -> Sample:
    """``sample`` with its ``modality`` taken from ``donor`` (absent if the donor lacks it)."""
    if modality not in MODALITY_NAMES:
        raise ValueError(f"unknown modality {modality!r}")
    return replace(sample, **{modality: getattr(donor, modality)})


@dataclass
class SwapOutcome:
    """Before and after one swap; ``donor_says`` is the donor's modality's own prediction."""

    modality: str
    before: Analysis
    after: Analysis
    donor_says: str
    sample: Sample | None = None  # the swapped sample, for a caller that adopts it
    original: Sample | None = None

    @property
    def changed(self) -> bool:
        return self.after.predicted_label != self.before.predicted_label

    @property
    def follows(self) -> bool:
        """The prediction moved to what the swapped-in modality says on its own."""
        return self.changed and self.after.predicted_label == self.donor_says

    def verdict(self) -> str:
        """One sentence a person reads first: did the answer move, and did it follow the swap."""
        modality, before, after = self.modality, self.before, self.after
        was, now = before.predicted_label, after.predicted_label
        alone = f"the swapped-in {modality} alone says {self.donor_says}"
        if self.follows:
            return (
                f"Swapping the {modality} changed the prediction from {was} to {now}: "
                f"it followed the {modality}."
            )
        if self.changed:
            return (
                f"Swapping the {modality} changed the prediction from {was} to {now}, "
                f"though {alone}: the {modality} tipped the balance without deciding it."
            )
        if self.donor_says == was:
            return f"Swapping the {modality} kept the prediction at {was}: {alone} too."
        return (
            f"Swapping the {modality} kept the prediction at {was} although {alone}: "
            f"the other modalities outweighed it."
        )


def swap(analyzer, sample: Sample, donor: Sample, modality: str) -> SwapOutcome:
    """Analyse ``sample`` with its ``modality`` from ``donor``, and both as they are; the three
    analyses run as one batch."""
    if not sample.present:
        raise InputError(EMPTY_SAMPLE)
    alone = Sample(**{modality: getattr(donor, modality)})
    if modality not in alone.present:
        raise InputError(f"the donor sample has no {modality} to swap in")
    after_sample = swapped(sample, donor, modality)
    before, after, donor_alone = analyzer.analyze_batch([sample, after_sample, alone])
    return SwapOutcome(
        modality, before, after, donor_alone.predicted_label, after_sample, original=sample
    )


def swap_from(analyzer, sample: Sample, donor: Donor, modality: str) -> SwapOutcome:
    """:func:`swap` with the donor's modality read first (both in the caller's thread)."""
    if not sample.present:  # before reading the donor's file, which would be wasted
        raise InputError(EMPTY_SAMPLE)
    return swap(analyzer, sample, donor.sample(modality), modality)
