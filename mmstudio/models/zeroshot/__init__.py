"""Zero-shot classification over typed labels with pretrained CLIP (image, text) and CLAP
(audio, text), fused by a log-linear pool.

Importing this package is light (no torch, no transformers), so the registry can ask whether
the weights are present while the window starts; the model itself is imported on first use.
"""

from mmstudio.lazy import lazy_exports
from mmstudio.models.zeroshot.sources import (
    ARCHITECTURE,
    DEFAULT_CLAP,
    DEFAULT_CLIP,
    DEFAULT_LABELS,
    is_clip_clap_folder,
    is_clip_clap_source,
    parse_labels,
)

_LAZY = {
    "ClipClapModel": "mmstudio.models.zeroshot.model",
    "load_clip_clap": "mmstudio.models.zeroshot.loading",
}

__all__ = [
    "ARCHITECTURE",
    "DEFAULT_CLAP",
    "DEFAULT_CLIP",
    "DEFAULT_LABELS",
    "ClipClapModel",
    "is_clip_clap_folder",
    "is_clip_clap_source",
    "load_clip_clap",
    "parse_labels",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
