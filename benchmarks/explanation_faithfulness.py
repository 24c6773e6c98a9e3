"""How well the shipped model's heatmaps point at the evidence, on the digits test split.

Two measures, for the text map made by fusion attention (before) and by word occlusion (now):

* the number word's share of the text map: above its uniform share (its share of the
  characters in words) for how many phrases, and how often it is the top word;
* deletion curves per modality (mmstudio.explain.faithfulness): the area between random and
  map-ordered deletion, mean and standard deviation over records. The image and audio maps do
  not depend on the text method, so they are measured once.

Usage: python benchmarks/explanation_faithfulness.py [--data DIR] [--records N] [--curves N]
``--data`` is a digits build; without one the test split is built into it (about a minute).
Writes the "Explanation faithfulness" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import write_section  # noqa: E402
from mmstudio.analysis import Analyzer  # noqa: E402
from mmstudio.explain.faithfulness import deletion_curves, summarize  # noqa: E402
from mmstudio.explain.occlusion import METHOD as OCCLUSION  # noqa: E402
from mmstudio.explain.words import word_spans  # noqa: E402
from mmstudio.inputs import load_audio, load_image  # noqa: E402
from mmstudio.inputs.sample import Sample  # noqa: E402
from mmstudio.models.registry import get_model  # noqa: E402
from mmstudio.training.manifest import read_manifest  # noqa: E402

NATIVE = "native"
BATCH = 32


def test_records(folder: Path):
    if not (folder / "manifest.jsonl").is_file():
        from mmstudio.training.digits import build_digits_dataset

        print(f"building the digits test split into {folder}", flush=True)
        build_digits_dataset(folder, splits=["test"])
    return read_manifest(folder).split("test")


def sample_of(record) -> Sample:
    return Sample(image=load_image(record.image), text=record.text, audio=load_audio(record.audio))


def number_span(tokenizer, record) -> tuple[int, int] | None:
    """The number's [start, end) in the model's tokens, from the phrase's character offsets."""
    start, end = record.meta.get("text_number_start"), record.meta.get("text_number_end")
    if start is None or end is None:
        return None
    # A trailing marker keeps tokenize() from dropping the space before the cut.
    first = len(tokenizer.tokenize(record.text[:start] + "x")) - 1
    last = len(tokenizer.tokenize(record.text[:end] + "x")) - 1
    return (first, last) if last > first and last <= tokenizer.max_tokens else None


def number_word_share(tokens, weights, span) -> tuple[bool, bool] | None:
    """(share above uniform, number word on top) for one phrase's text map."""
    spans = word_spans(tokens)
    in_words = np.zeros(len(tokens), dtype=bool)
    for a, b in spans:
        in_words[a:b] = True
    # A share of the evidence for the prediction: a signed map's words against it count 0.
    weights = np.clip(np.asarray(weights, dtype=np.float64), 0.0, None) * in_words
    if weights.sum() <= 0:
        return False, False
    start, end = span
    uniform = (end - start) / in_words.sum()
    means = [weights[a:b].mean() for a, b in spans]
    top = spans[int(np.argmax(means))]
    return weights[start:end].sum() / weights.sum() > uniform, top[0] < end and top[1] > start


def analyse_all(analyzer, records):
    analyses = []
    for first in range(0, len(records), BATCH):
        analyses += analyzer.analyze_batch([sample_of(r) for r in records[first : first + BATCH]])
    return analyses


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/digits-test"))
    parser.add_argument("--records", type=int, default=2000, help="phrases for the share")
    parser.add_argument("--curves", type=int, default=500, help="records for deletion curves")
    args = parser.parse_args(argv)

    records = test_records(args.data)[: args.records]
    model = get_model("digits", "cpu")
    analyzer = Analyzer(model, "cpu")
    tokenizer = model.preprocessor.tokenizer
    started, load = time.perf_counter(), os.getloadavg()[0]

    shares, analyses, curves = {}, {}, {}
    for method in (NATIVE, OCCLUSION):
        model.text_map = method
        analyses[method] = analyse_all(analyzer, records)
        found = []
        for record, analysis in zip(records, analyses[method], strict=True):
            span = number_span(tokenizer, record)
            if span is not None and analysis.token_weights is not None:
                found.append(number_word_share(analysis.tokens, analysis.token_weights, span))
        shares[method] = np.array(found, dtype=bool)
        wanted = ("image", "text", "audio") if method == OCCLUSION else ("text",)
        curves[method] = summarize(
            [
                deletion_curves(model, sample_of(record), analysis, modalities=wanted, seed=i)
                for i, (record, analysis) in enumerate(
                    zip(records[: args.curves], analyses[method][: args.curves], strict=True)
                )
            ]
        )
        print(f"{method}: done after {time.perf_counter() - started:.0f} s", flush=True)
    model.text_map = OCCLUSION
    load = max(load, os.getloadavg()[0])

    method_names = {
        NATIVE: f"{analyses[NATIVE][0].text_heatmap_method} (before)",
        OCCLUSION: "word occlusion (now)",
    }
    share_rows = "\n".join(
        f"| {method_names[m]} | {len(s)} | **{s[:, 0].mean():.1%}** | {s[:, 1].mean():.1%} |"
        for m, s in shares.items()
    )
    curve_rows = []
    for modality in ("image", "text", "audio"):
        for method, by_modality in curves.items():
            if modality not in by_modality:
                continue
            summary = by_modality[modality]
            label = method_names[method] if modality == "text" else "same before and now"
            curve_rows.append(
                f"| {modality} | {label} | {summary.records} | **{summary.area_mean:+.3f}** | "
                f"{summary.area_std:.3f} | {summary.beats_random:.0%} | "
                f"{_curve(summary.ranked)} | {_curve(summary.random)} |"
            )
    body = f"""Model: the shipped `digits` (attention fusion). Data: the digits test split built by
`mmstudio build-digits` (seed 0; the test records of a full build). All figures from one run of
{time.perf_counter() - started:.0f} s; the machine is shared (load average up to {load:.1f} on
{os.cpu_count()} cores), which changes the time but none of the figures.

Text map: the number word's share of the map, against its uniform share (its characters over
all characters in words), and whether it is the word with the highest mean weight.

| text map | phrases | share above uniform | number word on top |
|---|---:|---:|---:|
{share_rows}

Deletion curves (`mmstudio.explain.faithfulness`): each modality alone, its units (pixels, words,
spectrogram cells) deleted in the map's order until k% of the map's mass is gone (k = 0, 10, ...,
100), against deleting as many at random (mean of 3 orders). Area = area between the random and
the ranked curve of p(predicted label) over k in [0, 1]: > 0 beats random. Curves list p at
k = 0, 20, 40, 60, 80, 100%, averaged over the first {args.curves} records.

| modality | map | records | area (mean) | area (std) | records beating random | ranked p(k) | random p(k) |
|---|---|---:|---:|---:|---:|---|---|
{chr(10).join(curve_rows)}
"""
    write_section("Explanation faithfulness", body, "benchmarks/explanation_faithfulness.py")
    print(body)
    return 0


def _curve(values: np.ndarray) -> str:
    return " ".join(f"{v:.2f}" for v in values[::2])


if __name__ == "__main__":
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    raise SystemExit(main())
