"""Latency of the zero-shot CLIP + CLAP backend against the plain transformers pipelines.

Ours: Analyzer(model, explain=False).analyze on the same inputs: the prediction plus exact
modality Shapley values (every coalition). Theirs: "zero-shot-image-classification" on the
CLIP folder and "zero-shot-audio-classification" on the CLAP folder. Same weights, inputs and
device; medians over runs. The models have random weights (no download): tiny ones by
default, the real architecture sizes of openai/clip-vit-base-patch32 and
laion/clap-htsat-unfused with --real-size (meant for a GPU).

Usage: python benchmarks/zeroshot_latency.py [--real-size] [--device auto] [--runs 30] [--no-write]
Writes its part of the "Zero-shot CLIP + CLAP backend" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import BENCHMARKS_MD, machine_description, write_section  # noqa: E402
from mmstudio.analysis import Analyzer  # noqa: E402
from mmstudio.inputs.sample import AudioClip, Sample  # noqa: E402
from mmstudio.models.device import describe_device, pick_device  # noqa: E402
from mmstudio.models.zeroshot import load_clip_clap  # noqa: E402
from tests.fixtures.random_clip_clap import save_random_clip_clap  # noqa: E402

TITLE = "Zero-shot CLIP + CLAP backend"
LABELS = ["dog", "cat", "car", "siren", "bird", "rain", "music", "speech"]


def benchmark_sample(seconds: float) -> Sample:
    rng = np.random.default_rng(0)
    image = Image.fromarray((rng.random((480, 640, 3)) * 255).astype("uint8"))
    audio = AudioClip((rng.standard_normal(int(16000 * seconds)) * 0.1).astype("float32"), 16000)
    return Sample(image=image, text="a dog barks at a passing siren", audio=audio)


def interleaved_medians(
    functions: dict[str, Callable[[], object]], runs: int, device: torch.device, warmup: int = 3
) -> dict[str, float]:
    """Median ms of each function, timed in turn within every run, so that a busy machine
    (other processes on the same cores) slows ours and theirs alike."""
    for _ in range(warmup):
        for function in functions.values():
            function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for run in range(runs):
        order = list(functions.items())
        for name, function in order if run % 2 == 0 else reversed(order):
            _synchronize(device)
            start = time.perf_counter()
            function()
            _synchronize(device)
            times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: statistics.median(values) for name, values in times.items()}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def pipelines(folder: Path, device: torch.device, dtype: torch.dtype | None = None):
    from transformers import pipeline

    options = {"device": device} if dtype is None else {"device": device, "dtype": dtype}
    image = pipeline("zero-shot-image-classification", model=str(folder / "clip"), **options)
    audio = pipeline("zero-shot-audio-classification", model=str(folder / "clap"), **options)
    return image, audio


def measure(folder: Path, device: torch.device, runs: int, sample: Sample) -> dict[str, float]:
    model = load_clip_clap(folder, device, labels=LABELS)
    plain, explained = Analyzer(model, device, explain=False), Analyzer(model, device)
    audio_at_rate = model_audio(
        sample.audio, int(model.clap_processor.feature_extractor.sampling_rate)
    )
    image_pipe, audio_pipe = pipelines(folder, device)
    functions = {
        "ours_all": lambda: plain.analyze(sample),
        "ours_all_explained": lambda: explained.analyze(sample),
        "ours_image": lambda: plain.analyze(sample.without("text", "audio")),
        "ours_audio": lambda: plain.analyze(sample.without("image", "text")),
        "pipe_image": lambda: image_pipe(sample.image, candidate_labels=LABELS),
        "pipe_audio": lambda: audio_pipe(audio_at_rate, candidate_labels=LABELS),
    }
    if device.type == "cuda":  # the pipelines in half precision too, as ours runs under autocast
        half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        image_half, audio_half = pipelines(folder, device, half)
        functions["pipe_image_half"] = lambda: image_half(sample.image, candidate_labels=LABELS)
        functions["pipe_audio_half"] = lambda: audio_half(audio_at_rate, candidate_labels=LABELS)
    return interleaved_medians(functions, runs, device)


def model_audio(clip: AudioClip, rate: int) -> np.ndarray:
    # The audio pipeline takes samples at the model's rate; resampling is not what we time.
    from mmstudio.models.zeroshot.batch import _resampled

    return _resampled(clip, rate)


def report(
    found: dict[str, float], size: str, device: torch.device, runs: int, seconds: float
) -> str:
    both = found["pipe_image"] + found["pipe_audio"]
    rows = [
        (
            "image + text + audio: prediction + exact Shapley (8 coalitions); the text tower runs too",
            found["ours_all"],
            "image + audio pipelines back to back",
            both,
        ),
        ("image only", found["ours_image"], "zero-shot-image-classification", found["pipe_image"]),
        ("audio only", found["ours_audio"], "zero-shot-audio-classification", found["pipe_audio"]),
    ]
    lines = [
        f"### {_subtitle(size, device)}",
        "",
        f"Measured on {machine_description()}; device {describe_device(device)}. Random weights, "
        f"{_sizes(size)}; {len(LABELS)} labels; a 640x480 image, a 7-word text, {seconds:g} s of audio; "
        f"median of {runs} runs after 3 warm-up runs, ours and theirs timed in turn within each run "
        f"(load average {os.getloadavg()[0]:.1f} at the end: other work on the machine slows both alike).",
        "",
        "| ours (`Analyzer(model, explain=False)`) | ms | transformers pipeline | ms | ours / theirs |",
        "|---|---:|---|---:|---:|",
    ]
    lines += [
        f"| {ours} | {a:.2f} | {theirs} | {b:.2f} | {a / b:.2f}x |" for ours, a, theirs, b in rows
    ]
    lines += [
        "",
        f"- With heatmaps (rollout, two gradient passes) the full analysis takes {found['ours_all_explained']:.2f} ms.",
    ]
    if "pipe_image_half" in found:
        lines.append(
            f"- Pipelines in half precision: image {found['pipe_image_half']:.2f} ms, audio {found['pipe_audio_half']:.2f} ms "
            f"(ours / theirs for all three inputs: {found['ours_all'] / (found['pipe_image_half'] + found['pipe_audio_half']):.2f}x)."
        )
    lines.append(
        "- The pipelines encode the candidate labels on every call; the backend caches the label "
        "embeddings until the labels change, and fusing the 8 coalitions is one tensor sum."
    )
    return "\n".join(lines)


def _subtitle(size: str, device: torch.device) -> str:
    return f"{'Real-size' if size == 'real' else 'Tiny'} models on {device.type.upper()}"


def _sizes(size: str) -> str:
    if size == "real":
        return "the architecture sizes of openai/clip-vit-base-patch32 and laion/clap-htsat-unfused (tokenizers spell words letter by letter, so texts are longer than with the real BPE)"
    return (
        "tiny CLIP (2 layers, width 32, 32x32 images) and CLAP (two Swin stages, 16 mel bins, 1 s)"
    )


def merge_subsection(body: str, subtitle: str) -> str:
    """Keep the other subsections (e.g. a GPU run) of the section and replace this one."""
    text = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.exists() else ""
    section = re.search(rf"^## {re.escape(TITLE)}\n.*?(?=^## |\Z)", text, re.DOTALL | re.MULTILINE)
    kept = []
    if section:
        for part in re.split(r"(?=^### )", section.group(0), flags=re.MULTILINE)[1:]:
            if not part.startswith(f"### {subtitle}\n"):
                kept.append(part.strip())
    intro = (
        "Ours: `Analyzer(model, explain=False).analyze()` on the zero-shot backend "
        "(prediction and exact modality Shapley values). Theirs: transformers' zero-shot "
        "pipelines on the same CLIP and CLAP folders, inputs and device."
    )
    return "\n\n".join([intro, body.strip(), *kept])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--real-size",
        action="store_true",
        help="real CLIP ViT-B/32 and CLAP HTSAT sizes (for a GPU)",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--no-write", action="store_true", help="print the figures, leave BENCHMARKS.md alone"
    )
    args = parser.parse_args(argv)
    device = pick_device(args.device)
    size = "real" if args.real_size else "tiny"
    seconds = 5.0 if size == "real" else 1.0
    sample = benchmark_sample(seconds)
    with tempfile.TemporaryDirectory() as temporary:
        folder = save_random_clip_clap(Path(temporary) / "clip-clap", size, labels=LABELS)
        found = measure(folder, device, args.runs, sample)
    body = report(found, size, device, args.runs, seconds)
    print(body)
    if not args.no_write:
        path = write_section(
            TITLE, merge_subsection(body, _subtitle(size, device)), "benchmarks/zeroshot_latency.py"
        )
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
