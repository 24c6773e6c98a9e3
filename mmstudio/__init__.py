"""mmstudio: explore multimodal fusion models.

The package root stays light: importing ``mmstudio`` must not import torch or Qt,
so the command line and the window can start quickly.
"""

__version__ = "0.1.0"

MODALITIES: tuple[str, ...] = ("image", "text", "audio")
