"""An example mmstudio plugin. The entry point in pyproject.toml names ``load``."""

from __future__ import annotations

from mmstudio_example_plugin.model import ColorModel

__all__ = ["ColorModel", "load"]


def load(device="cpu") -> ColorModel:
    """Red, green or blue from an image's mean colour and a text's colour words (an example plugin)"""
    return ColorModel().to(device).eval()
