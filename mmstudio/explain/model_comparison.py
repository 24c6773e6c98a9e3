"""Two models on one sample: what each predicts and whether they agree, in one sentence."""

from __future__ import annotations

from dataclasses import dataclass

from mmstudio.result import Analysis


@dataclass(frozen=True)
class ModelComparison:
    """The analyses of one sample by two models, each named as the window shows it."""

    first_name: str
    first: Analysis
    second_name: str
    second: Analysis

    @property
    def agree(self) -> bool:
        return self.first.predicted_label == self.second.predicted_label

    def verdict(self) -> str:
        first, second = self.first, self.second
        if self.agree:
            reliance = _main_modality(first), _main_modality(second)
            relied = (
                f"; {self.first_name} relies most on the {reliance[0]}, "
                f"{self.second_name} on the {reliance[1]}"
                if None not in reliance and reliance[0] != reliance[1]
                else ""
            )
            return f"Both models predict {first.predicted_label}{relied}."
        return (
            f"They disagree: {self.first_name} predicts {first.predicted_label} "
            f"({first.confidence:.0%}), {self.second_name} predicts "
            f"{second.predicted_label} ({second.confidence:.0%})."
        )


def _main_modality(analysis: Analysis) -> str | None:
    """The modality with the largest Shapley value for the prediction (None with one input)."""
    values = {m: v for m, v in analysis.shapley.items() if m in analysis.present}
    if len(values) < 2:
        return None
    return max(values, key=values.get)
