"""64x64 digit images: real handwriting from scikit-learn and printed digits from system fonts.

Both sources go through the same composition (paper texture, ink, blur, noise, sometimes
inverted) so that the source cannot be told from the background alone.

Honest hold-out: handwriting is split by contiguous index blocks of ``load_digits()`` (the
samples are roughly grouped by writer), and fonts are split by *design*, not by file: Liberation
Sans, FreeSans and Nimbus Sans are all Helvetica/Arial clones, so they share one group and
therefore one split. The groups kept out of training are listed in ``VAL_FONT_GROUPS`` and
``TEST_FONT_GROUPS``.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

IMAGE_SIZE = 64
SPLITS = ("train", "val", "test")

# Share of the sklearn samples (in their stored order) that go to each split.
HANDWRITING_BLOCKS = {"train": (0.0, 0.7), "val": (0.7, 0.8), "test": (0.8, 1.0)}

VAL_FONT_GROUPS = ("dejavu-sans-mono", "palatino")
TEST_FONT_GROUPS = ("times", "noto-sans", "noto-mono", "bookman", "avant-garde")

# (regular expression on the file stem, design group). First match wins.
_GROUP_RULES: tuple[tuple[str, str], ...] = (
    (r"^(NimbusSans|FreeSans|LiberationSans|Arimo)", "helvetica-arial"),
    (r"^(NimbusRoman|FreeSerif|LiberationSerif|Tinos)", "times"),
    (r"^(NimbusMono|FreeMono|LiberationMono|Cousine)", "courier"),
    (r"^DejaVuSansMono", "dejavu-sans-mono"),
    (r"^DejaVuSans", "dejavu-sans"),
    (r"^DejaVuSerif", "dejavu-serif"),
    (r"^(NotoSansMono|NotoMono|DroidSansMono)", "noto-mono"),
    (r"^Noto(Serif|Naskh|Nastaliq|Rashi)", "noto-serif"),
    (r"^(Noto|Droid)", "noto-sans"),
    (r"^C059", "century-schoolbook"),
    (r"^P052", "palatino"),
    (r"^URWBookman", "bookman"),
    (r"^URWGothic", "avant-garde"),
    (r"^Z003", "zapf-chancery"),
)

# Fonts whose "digits" are not digits, or whose digits are borrowed from another design here.
_EXCLUDE = re.compile(
    r"Symbol|Dingbat|D050000L|Music|Math|MayanNumerals|SiyaqNumbers|SignWriting|Emoji",
    re.IGNORECASE,
)
_FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".pfb", ".t1")


def font_dirs() -> list[Path]:
    dirs = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts")]
    if sys.platform == "darwin":
        dirs += [Path("/System/Library/Fonts"), Path("/Library/Fonts")]
    elif sys.platform == "win32":
        dirs.append(Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts")
    return [d for d in dirs if d.is_dir()]


@dataclass(frozen=True)
class FontFile:
    path: Path
    group: str

    @property
    def name(self) -> str:
        return self.path.stem


def font_group(stem: str) -> str:
    for pattern, group in _GROUP_RULES:
        if re.match(pattern, stem):
            return group
    # An unknown font forms its own family: the stem without weight/style suffixes.
    return re.split(r"[-_ ]", stem)[0].lower()


@functools.lru_cache(maxsize=1)
def discover_fonts() -> tuple[FontFile, ...]:
    """Every font file on this machine that draws ten distinct Latin digits, sorted by path."""
    candidates: dict[str, Path] = {}
    for directory in font_dirs():
        for path in sorted(directory.rglob("*")):
            suffix = path.suffix.lower()
            if suffix not in _FONT_SUFFIXES or _EXCLUDE.search(path.stem):
                continue
            # URW ships each face as .otf and .pfb; keep one so no face counts twice.
            previous = candidates.get(path.stem)
            if previous is None or _FONT_SUFFIXES.index(suffix) < _FONT_SUFFIXES.index(
                previous.suffix.lower()
            ):
                candidates[path.stem] = path
    fonts = [
        FontFile(path=path, group=font_group(stem))
        for stem, path in candidates.items()
        if _draws_digits(path)
    ]
    return tuple(sorted(fonts, key=lambda f: str(f.path)))


def _draws_digits(path: Path) -> bool:
    try:
        font = ImageFont.truetype(str(path), 32)
    except OSError:
        return False  # a format this Pillow/FreeType cannot read
    renders = [_glyph_bytes(font, ch) for ch in "0123456789"]
    missing = _glyph_bytes(font, "\U0010fffd")
    if any(not r.strip(b"\x00") or r == missing for r in renders):
        return False
    return len(set(renders)) == 10


def _glyph_bytes(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    canvas = Image.new("L", (48, 48))
    ImageDraw.Draw(canvas).text((24, 24), char, font=font, fill=255, anchor="mm")
    return canvas.tobytes()


def fonts_by_split(fonts: tuple[FontFile, ...] | None = None) -> dict[str, list[FontFile]]:
    """Assign whole design groups to splits; groups we do not know go to training."""
    fonts = discover_fonts() if fonts is None else fonts
    groups = sorted({f.group for f in fonts})
    assignment = {g: _preferred_split(g) for g in groups}
    # A machine with few fonts still needs every split populated: borrow training groups.
    for split in ("test", "val"):
        if not any(s == split for s in assignment.values()):
            spare = [g for g in groups if assignment[g] == "train"]
            if len(spare) > 1:
                assignment[spare[-1]] = split
    by_split: dict[str, list[FontFile]] = {s: [] for s in SPLITS}
    for font in fonts:
        by_split[assignment[font.group]].append(font)
    for split, members in by_split.items():
        if not members:
            raise RuntimeError(
                f"not enough fonts to hold out a {split} set; install fonts-dejavu-core, "
                "fonts-liberation, fonts-freefont-ttf, fonts-urw-base35 and fonts-noto-core"
            )
    return by_split


def _preferred_split(group: str) -> str:
    if group in TEST_FONT_GROUPS:
        return "test"
    if group in VAL_FONT_GROUPS:
        return "val"
    return "train"


def pick_font(fonts: list[FontFile], rng: np.random.Generator) -> FontFile:
    """Choose a design group uniformly, then a file in it, so Noto's dozens of files for one
    design do not crowd out the groups that have four."""
    groups = sorted({f.group for f in fonts})
    group = groups[int(rng.integers(len(groups)))]
    members = [f for f in fonts if f.group == group]
    return members[int(rng.integers(len(members)))]


# ---------------------------------------------------------------------------------- handwriting


@functools.lru_cache(maxsize=1)
def handwriting() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits (values 0..16) and their labels, in stored order."""
    from sklearn.datasets import load_digits  # lazily: only dataset building needs sklearn

    data = load_digits()
    return data.images.astype(np.float32), data.target.astype(np.int64)


def handwriting_indices(split: str) -> np.ndarray:
    images, _ = handwriting()
    start, stop = HANDWRITING_BLOCKS[split]
    n = len(images)
    return np.arange(int(round(start * n)), int(round(stop * n)))


def render_handwritten(
    pixels: np.ndarray, rng: np.random.Generator, warp: float = 0.0
) -> Image.Image:
    """An 8x8 sample upsampled smoothly, given a pen width, tilted and placed on paper.

    ``warp`` > 0 bends the strokes by a smooth random displacement of up to that many of the
    sample's own pixels: a few dozen writers become many more hands, which is what a test
    on writers that training never saw asks of the model.
    """
    side = int(rng.integers(34, 50))
    small = Image.fromarray((pixels / 16.0).astype(np.float32), mode="F")
    big = np.asarray(small.resize((side, side), Image.Resampling.BICUBIC), dtype=np.float32)
    if warp > 0:
        big = _elastic(big, rng.uniform(0.0, warp) * side / 8, rng)
    # A soft threshold turns the blurry upsample into a pen stroke; its level sets the width.
    threshold = rng.uniform(0.25, 0.55)
    mask = 1.0 / (1.0 + np.exp(-(big - threshold) * rng.uniform(8.0, 16.0)))
    mask_img = Image.fromarray(np.clip(mask * 255, 0, 255).astype(np.uint8), mode="L")
    mask_img = mask_img.resize((max(8, int(side * rng.uniform(0.8, 1.1))), side), Image.BICUBIC)
    mask_img = mask_img.rotate(rng.uniform(-10, 10), Image.BICUBIC, expand=True)
    return compose(_place(_crop_to_ink(mask_img), rng, height=(36, 54)), rng)


def _elastic(image: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """``image`` resampled along a smooth field of displacements up to ``amplitude`` pixels:
    random offsets on a 4x4 grid, interpolated over the image."""
    from scipy import ndimage

    side = image.shape[0]
    coarse = rng.uniform(-1.0, 1.0, size=(2, 4, 4)) * amplitude
    dy, dx = (ndimage.zoom(c, side / 4, order=3)[:side, :side] for c in coarse)
    rows, cols = np.mgrid[0:side, 0:side].astype(np.float32)
    return ndimage.map_coordinates(image, [rows + dy, cols + dx], order=1, mode="constant")


# ------------------------------------------------------------------------------------- printed


@functools.lru_cache(maxsize=256)
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def render_printed(digit: int, font: FontFile, rng: np.random.Generator) -> Image.Image:
    """A font's digit with a random stroke width, rotation, scale and position."""
    face = _load_font(str(font.path), 72)
    stroke = int(rng.choice([0, 0, 0, 1, 2, 3]))
    canvas = Image.new("L", (160, 160))
    ImageDraw.Draw(canvas).text(
        (80, 80),
        str(digit),
        font=face,
        fill=255,
        anchor="mm",
        stroke_width=stroke,
        stroke_fill=255,
    )
    glyph = _crop_to_ink(canvas).rotate(rng.uniform(-15, 15), Image.BICUBIC, expand=True)
    return compose(_place(_crop_to_ink(glyph), rng, height=(30, 56)), rng)


# ---------------------------------------------------------------------------------- composition


def _crop_to_ink(mask: Image.Image) -> Image.Image:
    box = mask.point(lambda v: 255 if v > 20 else 0).getbbox()
    return mask.crop(box) if box else mask


def _place(glyph: Image.Image, rng: np.random.Generator, height: tuple[int, int]) -> np.ndarray:
    """Scale the ink to a random height and drop it at a random spot, keeping a margin."""
    target_h = int(rng.integers(*height))
    scale = target_h / max(1, glyph.height)
    width = max(4, int(round(glyph.width * scale)))
    if width > IMAGE_SIZE - 6:  # wide glyphs (a rotated 0 in a wide font) are fitted by width
        scale *= (IMAGE_SIZE - 6) / width
        width, target_h = IMAGE_SIZE - 6, max(4, int(round(glyph.height * scale)))
    glyph = glyph.resize((width, target_h), Image.Resampling.LANCZOS)
    margin = 3
    left = int(rng.integers(margin, max(margin + 1, IMAGE_SIZE - width - margin + 1)))
    top = int(rng.integers(margin, max(margin + 1, IMAGE_SIZE - target_h - margin + 1)))
    canvas = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE))
    canvas.paste(glyph, (left, top))
    return np.asarray(canvas, dtype=np.float32) / 255.0


def compose(mask: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Ink on textured paper, then blur, sensor noise and an occasional colour inversion."""
    paper = _paper(rng)
    ink = rng.uniform(0, 90)
    ink = min(ink, float(paper.mean()) - 70.0)  # keep the digit legible on dark paper
    pixels = paper * (1.0 - mask) + ink * mask
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.1)))
    pixels = np.asarray(image, dtype=np.float32)
    pixels = pixels + rng.normal(0, rng.uniform(0, 8), size=pixels.shape)
    if rng.random() < 0.2:
        pixels = 255.0 - pixels
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), mode="L")


def _paper(rng: np.random.Generator) -> np.ndarray:
    base = rng.uniform(170, 250)
    y, x = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32) / IMAGE_SIZE - 0.5
    paper = np.full((IMAGE_SIZE, IMAGE_SIZE), base, dtype=np.float32)
    if rng.random() < 0.5:  # uneven lighting
        angle = rng.uniform(0, 2 * np.pi)
        paper += rng.uniform(10, 45) * (np.cos(angle) * x + np.sin(angle) * y)
    if rng.random() < 0.6:  # paper grain: low-frequency blotches
        cells = int(rng.integers(3, 9))
        blotches = Image.fromarray(rng.normal(0, 1, (cells, cells)).astype(np.float32), mode="F")
        grain = np.asarray(blotches.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BICUBIC))
        paper += rng.uniform(3, 12) * grain
    return paper
