"""The background colour of an image: what padding and masked-out pixels are filled with."""

from __future__ import annotations

import numpy as np
from PIL import Image


def border_colour(image: Image.Image) -> tuple[int, int, int]:
    """The median colour of the outermost pixels: the paper or screen a digit sits on."""
    pixels = np.asarray(image.convert("RGB"))
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return tuple(int(v) for v in np.median(border, axis=0))
