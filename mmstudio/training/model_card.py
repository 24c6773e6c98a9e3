"""The default model's card: data and licences, splits, the fusion comparison, targets, limits.

Everything in the card is generated from the runs' metrics and the dataset's build_info.json,
so the card cannot drift from the weights it describes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

TARGET_FULL_CLEAN = 0.99
# Each modality alone, clean, on the held-out fonts and writers, phrasings and voices.
TARGET_SINGLE_CLEAN = {"image": 0.97, "text": 0.95, "audio": 0.90}
TARGET_FUSION_MARGIN = 0.10
TARGET_ECE = 0.05
# The share of held-out two-digit phrases answered honestly (mmstudio.training.ambiguity).
TARGET_HONEST = 0.90
SINGLES = ("image", "text", "audio")
FULL = "image+text+audio"

# (file-name pattern, family, licence), for the fonts the printed digits were rendered with.
_FONT_LICENCES: tuple[tuple[str, str, str], ...] = (
    (r"^DejaVu", "DejaVu", "Bitstream Vera licence (DejaVu changes in the public domain)"),
    (r"^Liberation", "Liberation", "SIL Open Font License 1.1"),
    (r"^Free(Sans|Serif|Mono)", "GNU FreeFont", "GPL-3.0 with the font exception"),
    (
        r"^(Nimbus|URW|C059|P052|Z003|D050000L|StandardSymbols)",
        "URW base35 (Ghostscript fonts)",
        "AGPL-3.0 with the font exception",
    ),
    (r"^Noto", "Noto", "SIL Open Font License 1.1"),
    (r"^Droid", "Droid", "Apache License 2.0"),
)


@dataclass
class Target:
    name: str
    value: float | None
    threshold: float
    at_least: bool = True

    @property
    def met(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.threshold if self.at_least else self.value <= self.threshold


def _top_level(metrics: dict[str, Any]) -> str:
    return str(max(metrics["levels"]))


def _accuracy(metrics: dict[str, Any], level: int | str, subset: str) -> float | None:
    return metrics["accuracy"][str(level)].get(subset)


def choose_best(comparison: dict[str, dict[str, Any]]) -> str:
    """Highest clean all-three accuracy; ties go to the higher all-three accuracy at the
    strongest corruption, then to the faster full analysis."""

    def key(name: str) -> tuple[float, float, float]:
        metrics = comparison[name]
        clean = _accuracy(metrics, 0, FULL) or 0.0
        worst = _accuracy(metrics, _top_level(metrics), FULL) or 0.0
        latency = metrics.get("latency_ms", {}).get("analyze_median", float("inf"))
        return (clean, worst, -latency)

    if not comparison:
        raise ValueError("no runs to choose from")
    return max(comparison, key=key)


def targets(metrics: dict[str, Any]) -> list[Target]:
    top = _top_level(metrics)
    best_single = max((_accuracy(metrics, top, m) or 0.0) for m in SINGLES)
    fused = _accuracy(metrics, top, FULL)
    return [
        Target("all three modalities, clean", _accuracy(metrics, 0, FULL), TARGET_FULL_CLEAN),
        *(
            Target(f"{m} alone, clean", _accuracy(metrics, 0, m), TARGET_SINGLE_CLEAN[m])
            for m in SINGLES
        ),
        Target(
            f"all three minus best single modality, level {top}",
            None if fused is None else fused - best_single,
            TARGET_FUSION_MARGIN,
        ),
        Target(
            "expected calibration error, all three, clean",
            metrics.get("ece_clean"),
            TARGET_ECE,
            at_least=False,
        ),
        *(
            [Target(HONEST_TARGET, metrics["either"]["honest"], TARGET_HONEST)]
            if "either" in metrics
            else []
        ),
    ]


HONEST_TARGET = "honest about two-digit texts, text alone"


def rank_from_report(report: dict[str, Any]) -> list[str]:
    """The strategies in the order a comparison report favours them: the highest mean clean
    accuracy over seeds (to a tenth of a point, finer than seeds can tell apart), then the
    highest mean accuracy at the strongest corruption, then the shortest analysis latency."""

    def key(fusion: str) -> tuple[float, float, float]:
        figures = report["strategies"][fusion]
        top = f"accuracy/level {report['levels'][-1]}" if report["levels"] else "accuracy"
        latency = figures.get("analysis_latency_seconds", {}).get("mean")
        return (
            round(figures["accuracy"]["mean"] or 0.0, 3),
            figures.get(top, {}).get("mean") or 0.0,
            -(latency if latency is not None else float("inf")),
        )

    ranked = [f for f in report["strategies"] if report["strategies"][f]["accuracy"]["mean"]]
    if not ranked:
        raise ValueError("the comparison report has no strategy with a test accuracy")
    return sorted(ranked, key=key, reverse=True)  # a stable sort: ties keep the report's order


@dataclass
class Choice:
    """The shipped strategy, and why the ones the report ranks above it were passed over."""

    fusion: str
    ranked: list[str]
    passed_over: dict[str, list[Target]]

    @property
    def meets_targets(self) -> bool:
        return self.fusion not in self.passed_over


def choose_shipped(ranked: list[str], metrics_of: Callable[[str], dict[str, Any]]) -> Choice:
    """The targets are requirements and the report is the ranking: the first strategy in
    ``ranked`` whose shipped run (``metrics_of(fusion)``) meets every target ships. When none
    does, the first ranked ships and its misses stay on record."""
    passed_over: dict[str, list[Target]] = {}
    for fusion in ranked:
        missed = [target for target in targets(metrics_of(fusion)) if not target.met]
        if not missed:
            return Choice(fusion, ranked, passed_over)
        passed_over[fusion] = missed
    return Choice(ranked[0], ranked, passed_over)


def write_model_card(
    comparison: dict[str, dict[str, Any]],
    chosen: str,
    out_path: str | Path,
    build_info: dict[str, Any],
    report: dict[str, Any] | None = None,
    choice: Choice | None = None,
) -> Path:
    """``comparison`` maps fusion name -> evaluation metrics (with training metrics under
    "training"); ``chosen`` names the shipped one. With a comparison ``report`` (seeds at an
    equal budget, mmstudio.training.comparison) the card compares the strategies by it, and
    ``comparison`` need only hold the shipped run, and ``choice`` says how it was chosen."""
    if chosen not in comparison:
        raise ValueError(f"the chosen run {chosen!r} is not among the compared runs")
    sections = [
        _header(comparison[chosen], chosen),
        _data_section(build_info),
        _splits_section(build_info),
        _training_section(comparison, chosen),
        (
            _protocol_section(report, choice or Choice(chosen, [chosen], {}), comparison[chosen])
            if report is not None
            else _comparison_section(comparison, chosen)
        ),
        _chosen_section(comparison[chosen]),
        _targets_section(comparison[chosen]),
        _limitations_section(comparison[chosen]),
        _reproduce_section(),
    ]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("\n\n".join(sections).rstrip() + "\n", encoding="utf-8")
    return out_path


# -------------------------------------------------------------------------------- formatting


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _params(count: int) -> str:
    return f"{count / 1e6:.2f} M" if count >= 1e6 else f"{count / 1e3:.0f} k"


# ---------------------------------------------------------------------------------- sections


def _header(metrics: dict[str, Any], chosen: str) -> str:
    full = _accuracy(metrics, 0, FULL)
    return (
        "# Model card: digits (default mmstudio model)\n\n"
        f"A FusionNet with **{chosen} fusion** that recognises the digits 0–9 from any combination "
        "of an image (handwritten or printed), a spoken English number word and a short typed "
        "phrase in one of eight languages. It ships with mmstudio so the studio has something "
        "to explain out of the box; it is a teaching and demonstration model, not a product "
        "component.\n\n"
        f"- Test accuracy with all three modalities: **{_pct(full, 2)} %** (clean inputs)\n"
        f"- Parameters: {metrics['params']:,}; temperature {metrics['temperature']:.3f} "
        "(fitted on the validation split)\n"
        f"- Files: model.safetensors, config.json, labels.txt, metrics.json "
        "(training metrics plus this card's test evaluation)\n"
        f"- Generated {date.today().isoformat()} by mmstudio.training.model_card"
    )


def _font_families(build_info: dict[str, Any]) -> list[tuple[str, str]]:
    files = {
        name for split in build_info.get("fonts", {}).values() for name in split.get("files", [])
    }
    found = []
    for pattern, family, licence in _FONT_LICENCES:
        if any(re.match(pattern, name) for name in files):
            found.append((family, licence))
    return found


def _data_section(build_info: dict[str, Any]) -> str:
    espeak = build_info.get("versions", {}).get("espeak_ng", "espeak-ng")
    espeak = espeak.split(" Data at")[0].strip()
    fonts = _font_families(build_info) or [(f, lic) for _, f, lic in _FONT_LICENCES]
    font_rows = [[family, licence] for family, licence in fonts]
    return "\n".join(
        [
            "## Training data and licences",
            "",
            "The data set is generated by `mmstudio build-digits` (mmstudio.training.digits); every "
            "record pairs an image, a spoken clip and a phrase of the same digit.",
            "",
            "- **Handwritten digits**: the scikit-learn `load_digits` set, a copy of the UCI "
            "*Optical Recognition of Handwritten Digits* data (optdigits; Alpaydin and Kaynak), "
            "licensed CC BY 4.0 and bundled with scikit-learn (BSD-3-Clause). The 8×8 bitmaps are "
            "upscaled and composed onto paper-like backgrounds.",
            "- **Printed digits**: rendered from system fonts, listed below with their licences. "
            "Only rendered pixels are used; no font file is redistributed.",
            f"- **Speech**: synthesised with espeak-ng ({espeak}), GPL-3.0-or-later, run as a separate "
            "program across English accents, voice variants, speeds and pitches. The GPL covers the "
            "program, not the audio it produces; no espeak-ng code or data is shipped.",
            "- **Text**: phrases generated from mmstudio's own templates and number words in eight "
            "languages (en, fr, de, es, it, ru, zh, ja), with typos and distractor words; training "
            "phrases also carry made-up words, some a letter away from a number word, none a word "
            "of a validation or test frame (MIT, as the rest of mmstudio).",
            "",
            _table(["Font family", "Licence"], font_rows),
        ]
    )


def _splits_section(build_info: dict[str, Any]) -> str:
    if not build_info:
        return "## Splits\n\nThe dataset's build_info.json was not available when this card was written."
    counts = build_info.get("counts", {})
    rows = []
    for split in ("train", "val", "test"):
        c = counts.get(split, {})
        hand = (
            build_info.get("handwriting", {}).get(split, {}).get("sklearn_index_range", ["?", "?"])
        )
        rows.append(
            [
                split,
                str(c.get("records", "?")),
                str(c.get("images_handwritten", "?")),
                str(c.get("images_printed", "?")),
                str(c.get("audio_clips", "?")),
                f"{hand[0]}–{hand[1] - 1 if isinstance(hand[1], int) else hand[1]}",
            ]
        )
    held = []
    for split in ("val", "test"):
        fonts = ", ".join(build_info.get("fonts", {}).get(split, {}).get("groups", [])) or "–"
        voices = build_info.get("voices", {}).get(split, {})
        held.append(
            f"- **{split}**: font designs {fonts}; espeak-ng voices "
            f"{', '.join(voices.get('voices', [])) or '–'} with variants "
            f"{', '.join(v for v in voices.get('variants', []) if v) or '–'}; "
            f"its own phrase templates, e.g. {_template_example(build_info, split)}."
        )
    return "\n".join(
        [
            "## Splits",
            "",
            f"Built with seed {build_info.get('seed', '?')} (size '{build_info.get('size', '?')}'). "
            "Nothing a test record is made of was seen in training: handwriting is split by "
            "contiguous blocks of the scikit-learn samples (roughly by writer), fonts by design "
            "(Helvetica/Arial clones share a group, so a clone cannot leak across splits), speech by "
            "accent *and* voice variant, and text by sentence template.",
            "",
            _table(
                [
                    "split",
                    "records",
                    "handwritten images",
                    "printed images",
                    "speech clips",
                    "scikit-learn indices",
                ],
                rows,
            ),
            "",
            "Held out from training:",
            "",
            *held,
            "",
            "Clips are reused across records within a split (a few hundred per digit in training), "
            "so the test split has fewer distinct utterances than records.",
            *_widening(build_info),
        ]
    )


def _widening(build_info: dict[str, Any]) -> list[str]:
    """What only the training split has: more varied voices and hands, two-digit phrases."""
    lines = []
    prosody = build_info.get("prosody")
    if prosody:
        train, held = prosody["train"], prosody["held_out"]
        lines.append(
            f"- Speech: training voices speak at {train['speed'][0]}–{train['speed'][1]} words "
            f"a minute with pitch {train['pitch'][0]}–{train['pitch'][1]}, wider than the "
            f"held-out splits' {held['speed'][0]}–{held['speed'][1]} and "
            f"{held['pitch'][0]}–{held['pitch'][1]}."
        )
    warp = build_info.get("handwriting_warp", {}).get("train")
    if warp:
        lines.append(
            f"- Handwriting: training strokes are bent by a smooth random displacement of up "
            f"to {warp:g} of a sample pixel, so a few dozen writers make many more hands; "
            "held-out handwriting is shown as written."
        )
    share = build_info.get("either_share", {}).get("train")
    if share:
        english = build_info.get("either_templates", {}).get("train", {}).get("en", [])
        example = f" (“{english[0].format(a='three', b='eight')}”)" if english else ""
        lines.append(
            f"- Text: {share:.0%} of the training phrases name a second digit as well{example}; "
            "the record's image and speech show one of the two, and the manifest's "
            "`text_labels` lists both, so the text alone is taught to share its belief "
            "between them. Held-out splits have one digit per phrase; the two-digit test "
            "frames are kept for the honesty check under Targets."
        )
    return ["", "Only the training split:", "", *lines] if lines else []


def _template_example(build_info: dict[str, Any], split: str) -> str:
    english = build_info.get("text_templates", {}).get(split, {}).get("en", [])
    return ", ".join(f"“{t.format(n='seven')}”" for t in english[:2]) or "–"


def _training_section(comparison: dict[str, dict[str, Any]], chosen: str) -> str:
    training = comparison[chosen].get("training", {})
    settings = training.get("settings", {})
    epochs = {name: m.get("training", {}).get("epochs_planned") for name, m in comparison.items()}
    uneven = len(set(epochs.values())) > 1
    lines = [
        "## Training",
        "",
        f"AdamW (learning rate {settings.get('lr', '?')}, weight decay "
        f"{settings.get('weight_decay', '?')}), batch size {settings.get('batch_size', '?')}, "
        f"linear warm-up then cosine decay, label smoothing {settings.get('label_smoothing', '?')}, "
        f"seed {settings.get('seed', '?')}. Modality dropout inside the model (each modality "
        'replaced by its learned "absent" embedding with probability '
        f"{settings.get('modality_dropout', 0.3)}) teaches every subset of inputs. The loss is "
        f"{settings.get('objective', _default_objective())}: the encoders run once per step, so "
        "supervising each modality alone costs only extra fusion-head passes, and a strong "
        "modality cannot starve the others' encoders of gradient.",
        "",
        _augmentation_text(settings, comparison[chosen].get("model_config", {})),
        "",
        "The best epoch is the one with the highest mean validation accuracy over the seven "
        "modality subsets, each validation record at one corruption level (spread evenly over "
        "0–3); training stops early when it has not improved for "
        f"{settings.get('patience', '?')} epochs. Afterwards the softmax temperature is fitted on "
        "the validation set (minimum negative log-likelihood of the predictions of every "
        "modality subset a record has, so a modality's own belief is calibrated as well as the "
        "fused one).",
        "",
        f"The shipped model trained for {training.get('epochs', '?')} epochs "
        f"(best epoch {training.get('best_epoch', '?')}) in "
        f"{_minutes(training.get('train_seconds'))} on {training.get('device', '?')}.",
    ]
    if uneven:
        budget = ", ".join(f"{name} {value}" for name, value in epochs.items())
        seconds = [m.get("training", {}).get("train_seconds") for m in comparison.values()]
        total = sum(s for s in seconds if s) if all(seconds) else None
        lines += [
            "",
            f"**Unequal budgets.** The compute budget ({_minutes(total)} of training for all "
            f"five on {training.get('device', '?')}) did not allow equal training, so the "
            f"strategies got different maximum epochs: {budget}. The comparison favours the "
            "strategies trained longer.",
        ]
    return "\n".join(lines)


def _default_objective() -> str:
    from mmstudio.training.trainer import OBJECTIVE  # imports torch: only when writing a card

    return OBJECTIVE


def _augmentation_text(settings: dict[str, Any], model_config: dict[str, Any]) -> str:
    mix = settings.get("corruption_mix", {})
    probabilities = " / ".join(f"{p:.2f}" for p in mix.get("probabilities", [])) or "?"
    text = (
        "Each training input is corrupted on the fly (mmstudio.training.corruption): per "
        f"modality, levels 0/1/2/3 with probabilities {probabilities}, and with probability "
        f"{mix.get('shared', '?')} one level for all three, so the model also meets inputs where "
        "every modality is degraded at once."
    )
    augmentation = settings.get("augmentation")
    if augmentation:
        text += (
            " Before that, label-preserving augmentation: the words of a phrase are shuffled "
            f"(probability {augmentation['text_shuffle']}), so the number word is found "
            f"anywhere in unseen sentence frames; images are rotated (up to "
            f"±{augmentation['max_rotation']:g}°), scaled and shifted (probability "
            f"{augmentation['image_affine']}); speech is played faster or slower "
            f"(×{augmentation['speed'][0]:g}–{augmentation['speed'][1]:g}, probability "
            f"{augmentation['audio_speed']})."
        )
    if model_config.get("audio_freq_mask") is not None:
        text += (
            " Inside the model, in training mode only, each log-mel spectrogram is stretched "
            f"along frequency (up to ±{model_config['audio_freq_warp']:.0%}, imitating a longer "
            "or shorter vocal tract), given a random smooth equaliser curve (up to about "
            f"{model_config['audio_eq_db']:g} dB, a different voice colour or microphone) and "
            f"masked SpecAugment-style (one band of up to {model_config['audio_freq_mask']} mel "
            f"bins, one span of up to {model_config['audio_time_mask']} frames)."
        )
    return text


def _minutes(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds / 60:.1f} min"


def _comparison_section(comparison: dict[str, dict[str, Any]], chosen: str) -> str:
    any_metrics = next(iter(comparison.values()))
    top = _top_level(any_metrics)
    subsets = any_metrics["subsets"]
    short = {s: s.replace("image", "I").replace("text", "T").replace("audio", "A") for s in subsets}
    accuracy_rows = {0: [], top: []}
    summary = []
    for name, metrics in comparison.items():
        label = f"**{name}** (shipped)" if name == chosen else name
        for level in accuracy_rows:
            accuracy_rows[level].append(
                [label] + [_pct(_accuracy(metrics, level, s)) for s in subsets]
            )
        latency = metrics.get("latency_ms", {})
        training = metrics.get("training", {})
        summary.append(
            [
                label,
                _pct(_accuracy(metrics, 0, FULL), 2),
                _pct(_accuracy(metrics, top, FULL)),
                f"{metrics['ece_clean']:.3f}",
                f"{metrics['ece'][top]:.3f}",
                _params(metrics["params"]),
                f"{latency.get('analyze_median', float('nan')):.1f}",
                f"{latency.get('predict_median', float('nan')):.1f}",
                str(training.get("epochs", "?")),
                _minutes(training.get("train_seconds")),
            ]
        )
    threads = any_metrics.get("latency_ms", {}).get("threads", "?")
    header = ["fusion"] + [short[s] for s in subsets]
    return "\n".join(
        [
            "## Fusion strategies compared",
            "",
            "All five strategies share the encoders and were trained on the same data; scores are on "
            f"the held-out test split ({any_metrics['count']} records). I = image, T = text, A = audio. "
            f"Level {top} is the strongest corruption, applied to every modality of a record.",
            "",
            "Accuracy (%), clean inputs:",
            "",
            _table(header, accuracy_rows[0]),
            "",
            f"Accuracy (%), corruption level {top}:",
            "",
            _table(header, accuracy_rows[top]),
            "",
            "Summary:",
            "",
            _table(
                [
                    "fusion",
                    "I+T+A clean %",
                    f"I+T+A level {top} %",
                    "ECE clean",
                    f"ECE level {top}",
                    "parameters",
                    "full analysis ms",
                    "prediction ms",
                    "epochs",
                    "training time",
                ],
                summary,
            ),
            "",
            f"Latency: median of {any_metrics.get('latency_ms', {}).get('runs', '?')} single-sample "
            f"calls of `Analyzer.analyze` on the CPU with {threads} threads (a shared machine, so "
            "treat the numbers as relative). The full analysis includes exact Shapley values over "
            "all eight modality coalitions and the heatmaps; fusions without attention compute "
            "their heatmaps by gradients, which costs a backward pass.",
            "",
            "The default is chosen by the highest clean all-three accuracy, ties broken by the "
            f"all-three accuracy at level {top}, then by latency.",
        ]
    )


def _protocol_section(report: dict[str, Any], choice: Choice, metrics: dict[str, Any]) -> str:
    """The comparison report's tables, and how the shipped strategy and seed were chosen."""
    from mmstudio.training.comparison.report import format_markdown

    body = format_markdown(report, list_insignificant=False).split("\n", 1)[1].lstrip("\n")
    body = re.sub(r"^## ", "### ", body, flags=re.MULTILINE)
    seed = metrics.get("training", {}).get("settings", {}).get("seed", "?")
    return "\n".join(
        [
            "## Fusion strategies compared",
            "",
            f"Every strategy trained with every seed at an equal budget (`mmstudio train DATA "
            f"--fusion {','.join(report['strategies'])} --seeds {len(report['seeds'])} "
            f"--epochs {report['budget']['epochs']}`): the same optimiser steps, the same data "
            "order and the same modality-dropout schedule per seed; scores are on the held-out "
            "test split. The comparison report follows.",
            "",
            body.rstrip(),
            "",
            f"**Shipped: {choice.fusion} fusion, seed {seed}.** The report ranks the strategies "
            "by mean clean test accuracy (to a tenth of a point), then mean accuracy at the "
            "strongest corruption, then the shortest analysis latency: "
            f"{', '.join(choice.ranked)}. The targets under Targets are requirements, so the "
            "first strategy whose shipped run meets all of them ships"
            + _passed_over(choice)
            + " Each strategy's shipped run is the seed with the best validation score, as the "
            "studio's comparison table opens it: the test split chose nothing about the seed.",
        ]
    )


def _passed_over(choice: Choice) -> str:
    def misses(fusion: str) -> str:
        return f"{fusion} missed " + " and ".join(
            f"“{target.name}” ({_measured(target)})" for target in choice.passed_over[fusion]
        )

    if not choice.passed_over:
        return "."
    if choice.meets_targets:
        return "; ranked above it, " + "; ".join(map(misses, choice.passed_over)) + "."
    return (
        ". None did (" + "; ".join(map(misses, choice.passed_over)) + "), so the "
        "report's first ships."
    )


def _chosen_section(metrics: dict[str, Any]) -> str:
    levels = [str(level) for level in metrics["levels"]]
    rows = [
        [s] + [_pct(_accuracy(metrics, level, s)) for level in levels] for s in metrics["subsets"]
    ]
    rows.append(["ECE (I+T+A)"] + [f"{metrics['ece'][level]:.3f}" for level in levels])
    return "\n".join(
        [
            "## The shipped model in detail",
            "",
            "Test accuracy (%) by modality subset and corruption level:",
            "",
            _table(["subset"] + [f"level {level}" for level in levels], rows),
        ]
    )


def _measured(target: Target) -> str:
    """``target``'s measured value in the units the card uses."""
    if target.value is None:
        return "–"
    if "calibration" in target.name:
        return f"{target.value:.3f}"
    if "minus" in target.name:
        return f"{100 * target.value:+.1f} points"
    return f"{_pct(target.value, 1 if target.name == HONEST_TARGET else 2)} %"


def _required(target: Target) -> str:
    sign = "≥" if target.at_least else "≤"
    if "calibration" in target.name:
        return f"{sign} {target.threshold:.2f}"
    unit = "points" if "minus" in target.name else "%"
    return f"{sign} {100 * target.threshold:.0f} {unit}"


def _targets_section(metrics: dict[str, Any]) -> str:
    rows = []
    for target in targets(metrics):
        value = _measured(target)
        if target.name == HONEST_TARGET:
            either = metrics["either"]
            value += (
                f" of {either['probes']} phrases (median pair {_pct(either['median_pair_mass'])} "
                f"%, larger share {_pct(either['median_max_share'])} %)"
            )
        rows.append([target.name, _required(target), value, "met" if target.met else "**missed**"])
    lines = ["## Targets (test split)", "", _table(["target", "required", "measured", ""], rows)]
    if "either" in metrics:
        either = metrics["either"]
        worst = either["worst"][0] if either["worst"] else None
        lines += [
            "",
            "A text that names two digits is answered honestly when, from the text alone, the "
            f"two named digits together get at least {either['pair_mass_at_least']:.0%} of the "
            f"probability and neither gets more than {either['max_share_at_most']:.0%}. The "
            f"{either['probes']} phrases use the test split's two-digit frames, which training "
            "never saw (mmstudio.training.ambiguity)"
            + (
                f"; the worst: “{worst['text']}” gives the pair {_pct(worst['pair_mass'])} % "
                f"and the larger of the two {_pct(worst['max_share'])} %."
                if worst
                else "."
            ),
        ]
    return "\n".join(lines)


def _limitations_section(metrics: dict[str, Any]) -> str:
    return "\n".join(
        [
            "## Limitations",
            "",
            "- Ten classes only. Anything else (letters, multi-digit numbers, other objects) is still "
            "forced into one of the digits, usually with low confidence.",
            "- The speech is synthetic (espeak-ng, English number words only). Real voices, other "
            "languages, background music and far-field microphones are outside the training data; "
            "expect lower accuracy from a real microphone.",
            "- Images are single centred digits on paper-like backgrounds. Photos of scenes, several "
            "digits, or digits much smaller than the frame are out of distribution. The handwriting "
            "comes from 8×8 bitmaps of a few dozen writers, so fine stroke detail is not learnt.",
            "- Text understanding is number-word spotting in eight languages with a character model; "
            'negation ("not a seven") and arithmetic are not understood.',
            "- Corruptions are synthetic (blur, occlusion, noise, babble, dropouts, typos); other kinds "
            "of damage may hurt more than these numbers suggest.",
            f"- Calibration (temperature {metrics['temperature']:.2f}) was fitted on validation data "
            "with every corruption level mixed in; on clean inputs, or on data unlike the training "
            "data, the confidences can be off.",
            "- When modalities disagree the model follows the majority or the clearest signal; it "
            "was never trained on conflicting inputs, so such predictions are illustrations of "
            "fusion behaviour, not ground truth.",
            *(
                [
                    '- A phrase that names two digits ("three or eight") is shared between them '
                    "from the text alone only as far as the Targets table shows: the split rests on "
                    "the fusion's balance between the two words, and a word of the phrase that "
                    "looks like a number word can draw a share."
                ]
                if "either" in metrics
                else []
            ),
        ]
    )


def _reproduce_section() -> str:
    return "\n".join(
        [
            "## Reproducing",
            "",
            "```",
            "packaging/train_default_model.sh",
            "```",
            "",
            "builds the dataset (`mmstudio build-digits`), trains every strategy with every seed "
            "at an equal budget and writes the comparison report (`mmstudio train --seeds`), "
            "then installs the strategy the report favours and writes this card (`mmstudio "
            "model-card --comparison`). Run again, it continues an interrupted comparison. The "
            "comparison and the dataset stay under data/ (not committed); the Training menu's "
            "New Training Run… (Ctrl+T) shows the same comparison live.",
        ]
    )
