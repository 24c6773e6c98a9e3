"""Explanations: exact modality Shapley values and heatmaps over image, text and audio."""

from mmstudio.explain.shapley import coalition_masks, shapley_matrix, shapley_values

__all__ = ["coalition_masks", "shapley_matrix", "shapley_values"]
