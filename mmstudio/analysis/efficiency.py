"""The efficiency check every analysis runs: base + the Shapley values = the full score."""

from __future__ import annotations

# Efficiency (base + the Shapley values = the full input's score) holds exactly in the
# float64 arithmetic of the values; what can break it is the model's float32 scores differing
# between coalitions that are the same for the sample. Relative to the scores' magnitude.
EFFICIENCY_TOLERANCE = 1e-4


def efficiency_note(phi, values, modalities, present) -> str:
    """A note when base + the present modalities' Shapley values misses the full score.

    Over all M players the values add up by construction (float64), so a gap is the value the
    sample's absent modalities took: the model's scores changed with a modality the sample
    does not have, and the values shown do not explain the whole prediction."""
    base, full = float(values[0]), float(values[-1])
    total = base + sum(float(phi[modalities.index(m)]) for m in present)
    if abs(total - full) <= EFFICIENCY_TOLERANCE * max(1.0, abs(base), abs(full)):
        return ""
    absent = [
        f"{m} {float(phi[i]):+.4g}"
        for i, m in enumerate(modalities)
        if m not in present and float(phi[i]) != 0.0
    ]
    why = (
        f"the model's scores changed with modalities this sample lacks ({', '.join(absent)})"
        if absent
        else "the model's scores are not consistent across coalitions"
    )
    return (
        f"the Shapley values do not add up: base {base:.4f} + values {total - base:+.4f} = "
        f"{total:.4f}, but the full input scores {full:.4f}; {why}"
    )
