"""Drawing one analysis's heatmaps into a set of map views, one step per modality.

The results panel and each side-by-side column draw their maps the same way; each runs the
steps in its own order, one per event-loop turn, so every view paints before the next.
"""

from __future__ import annotations

from collections.abc import Callable

from mmstudio.inputs import Sample
from mmstudio.result import Analysis


def map_steps(
    analysis: Analysis, sample: Sample, image_map, text_map, audio_map
) -> dict[str, Callable[[], None]]:
    """Per modality, the call that shows its map (an empty view for an absent modality)."""
    present, signed = analysis.present, set(analysis.signed_maps)
    return {
        "image": lambda: image_map.show_map(
            sample.image if "image" in present else None,
            analysis.image_heatmap,
            analysis.heatmap_method,
            signed="image" in signed,
        ),
        "text": lambda: text_map.show_map(
            analysis.tokens if "text" in present else [],
            analysis.token_weights,
            analysis.text_heatmap_method,
            signed="text" in signed,
        ),
        "audio": lambda: audio_map.show_map(
            sample.audio if "audio" in present else None,
            analysis.spectrogram,
            analysis.audio_heatmap,
            analysis.spectrogram_hop_seconds,
            analysis.heatmap_method,
            signed="audio" in signed,
        ),
    }
