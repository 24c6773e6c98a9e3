"""PNG renderings of an Analysis for the command line: heatmap overlays without Qt."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mmstudio.inputs.sample import Sample
from mmstudio.result import Analysis

# Anchor colours of the "inferno" colormap; interpolated to 256 entries.
_INFERNO_ANCHORS = np.array(
    [
        [0, 0, 4],
        [40, 11, 84],
        [101, 21, 110],
        [159, 42, 99],
        [212, 72, 66],
        [245, 125, 21],
        [250, 193, 39],
        [252, 255, 164],
    ],
    dtype=np.float32,
)


# A signed map's diverging scale: blue against the prediction, grey at 0, red for it.
_DIVERGING_ANCHORS = np.array(
    [[33, 102, 172], [146, 197, 222], [224, 224, 224], [244, 165, 130], [178, 24, 43]],
    dtype=np.float32,
)


def colormap(values: np.ndarray, signed: bool = False) -> np.ndarray:
    """Values in [0, 1] -> uint8 RGB through the inferno colormap; with ``signed``, values in
    [-1, 1] through a diverging one centred on 0."""
    anchors = _DIVERGING_ANCHORS if signed else _INFERNO_ANCHORS
    positions = np.linspace(-1.0 if signed else 0.0, 1.0, len(anchors))
    clipped = np.clip(np.nan_to_num(values), positions[0], 1.0)
    channels = [np.interp(clipped, positions, anchors[:, c]) for c in range(3)]
    return np.stack(channels, axis=-1).astype(np.uint8)


def image_overlay(
    image: Image.Image, heatmap: np.ndarray, opacity: float = 0.5, signed: bool = False
) -> Image.Image:
    base = image.convert("RGB")
    heat = Image.fromarray(colormap(heatmap, signed)).resize(base.size, Image.Resampling.BILINEAR)
    return Image.blend(base, heat, opacity)


def spectrogram_overlay(
    spectrogram: np.ndarray, heatmap: np.ndarray | None, scale: int = 4, signed: bool = False
) -> Image.Image:
    low, high = np.percentile(spectrogram, [5, 99.5])
    grey = np.clip((spectrogram - low) / max(high - low, 1e-6), 0, 1)[
        ::-1
    ]  # low frequencies at the bottom
    rgb = np.repeat((grey * 255).astype(np.uint8)[..., None], 3, axis=-1)
    picture = Image.fromarray(rgb)
    if heatmap is not None:
        picture = Image.blend(picture, Image.fromarray(colormap(heatmap[::-1], signed)), 0.5)
    return picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)


def tokens_picture(
    tokens: list[str], weights: np.ndarray, width: int = 640, signed: bool = False
) -> Image.Image:
    font = ImageFont.load_default(size=22)
    cell_w, cell_h, margin = 22, 34, 8
    per_row = max(1, (width - 2 * margin) // cell_w)
    rows = max(1, -(-len(tokens) // per_row))
    picture = Image.new("RGB", (width, rows * cell_h + 2 * margin), "white")
    draw = ImageDraw.Draw(picture)
    colours = colormap(np.asarray(weights, dtype=np.float32), signed)
    for index, (token, colour) in enumerate(zip(tokens, colours, strict=True)):
        x = margin + (index % per_row) * cell_w
        y = margin + (index // per_row) * cell_h
        draw.rectangle([x, y, x + cell_w - 2, y + cell_h - 4], fill=tuple(int(c) for c in colour))
        ink = "black" if colour.mean() > 128 else "white"
        draw.text((x + cell_w / 2, y + cell_h / 2 - 2), token, fill=ink, font=font, anchor="mm")
    return picture


def write_heatmap_pngs(analysis: Analysis, sample: Sample, folder: str | Path) -> list[Path]:
    """Write the heatmap overlays into ``folder``. Each PNG is written to a temporary file and
    renamed into place, so a failure (a full disk) never leaves a half-written picture."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pictures = []
    signed = set(analysis.signed_maps)
    if analysis.image_heatmap is not None and sample.image is not None:
        overlay = image_overlay(sample.image, analysis.image_heatmap, signed="image" in signed)
        pictures.append(("image_heatmap.png", overlay))
    if analysis.spectrogram is not None:
        overlay = spectrogram_overlay(
            analysis.spectrogram, analysis.audio_heatmap, signed="audio" in signed
        )
        pictures.append(("audio_heatmap.png", overlay))
    if analysis.tokens and analysis.token_weights is not None:
        picture = tokens_picture(analysis.tokens, analysis.token_weights, signed="text" in signed)
        pictures.append(("text_heatmap.png", picture))
    return [save_atomically(picture, folder / name) for name, picture in pictures]


def save_atomically(picture: Image.Image, path: Path) -> Path:
    """Save ``picture`` as a PNG at ``path`` all at once, or leave ``path`` as it was."""
    # Named, not mkstemp: the PNG then gets the usual permissions (mkstemp's are owner-only).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with temporary.open("wb") as stream:
            picture.save(stream, format="PNG")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
