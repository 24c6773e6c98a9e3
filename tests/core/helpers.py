"""Small models and inputs made in the tests themselves: no downloads, no shipped data."""

from __future__ import annotations

import numpy as np
from PIL import Image

from mmstudio.inputs.sample import AudioClip, Sample

DIGIT_LABELS = [str(i) for i in range(10)]


def tiny_model(fusion: str = "attention", seed: int = 0, **overrides):
    import torch

    from mmstudio.models import FusionConfig, FusionNet

    torch.manual_seed(seed)
    settings = {
        "dim": 32,
        "fusion_heads": 2,
        "text_heads": 2,
        "text_layers": 1,
        "tensor_rank_dim": 4,
    }
    settings.update(overrides)
    return FusionNet(FusionConfig(labels=DIGIT_LABELS, fusion=fusion, **settings)).eval()


def random_sample(seed: int = 0, size: tuple[int, int] = (90, 120), seconds: float = 1.0) -> Sample:
    rng = np.random.default_rng(seed)
    image = Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype("uint8"))
    audio = AudioClip((rng.standard_normal(int(16000 * seconds)) * 0.1).astype("float32"), 16000)
    return Sample(image=image, text=f"I think it is a seven ({seed})", audio=audio)


def bf16_autocast_model(seed: int = 0):
    """A tiny FusionNet that runs its encoders and fusion head under CPU bfloat16 autocast,
    as the zero-shot backend runs its towers under autocast on a GPU: float32 weights, bfloat16
    arithmetic."""
    import torch

    from mmstudio.models import FusionNet

    class AutocastFusionNet(FusionNet):
        def encode(self, batch, **options):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return super().encode(batch, **options)

        def fuse(self, encoded, presence):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return super().fuse(encoded, presence)

    model = tiny_model(seed=seed)
    model.__class__ = AutocastFusionNet
    return model


def bytes_read_so_far() -> int:
    """Bytes this process has read so far, as the kernel counts them (rchar in /proc/self/io):
    every read, Python's or a C library's, on any thread. Skips where there is no /proc."""
    from pathlib import Path

    from tests.conftest import require_or_skip

    io_counters = Path("/proc/self/io")
    require_or_skip(io_counters.is_file(), "counting bytes read needs Linux's /proc/self/io")
    fields = dict(line.split(": ") for line in io_counters.read_text().splitlines())
    return int(fields["rchar"])
