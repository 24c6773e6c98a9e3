"""The whole digits-chat recipe, stage by stage, each stage resumable: what ``mmstudio
train-chat`` runs.

1. ``encoders/image``: the vision tower learns to classify the training images (augmented,
   distilled from the shipped classifier's image-alone predictions).
2. ``encoders/audio``: the audio encoder, the same way on the training clips.
3. ``chat``: a fresh model takes both pretrained encoders, freezes them, and its decoder learns
   to answer the training questions from a bank of their tokens (features.py).
4. ``scores.json``: exact-match accuracy and the explanation checks on the test split, asked
   with the held-out question templates.

A stage whose saved state has reached its step count is not run again, so rerunning the command
after an interruption continues where it stopped. The stages are separate because they fail
separately (the feasibility runs: perception, not language, is what the chat loss cannot teach
in the time), and a rerun with more chat steps keeps the encoders.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from mmstudio.training.chat.augment import MediaAugmenter
from mmstudio.training.chat.pretrain import MEDIA, ClassifierTeacher, EncoderPretraining
from mmstudio.training.chat.settings import ChatRecipe
from mmstudio.training.chat.train import MODEL, ChatEvent, train_chat

ENCODERS_DIR = "encoders"
CHAT_DIR = "chat"
SCORES = "scores.json"
RECIPE = "recipe.json"


@dataclass
class RecipeEvent:
    """A stage's progress: ``event`` is the stage's own ChatEvent (None for a stage message)."""

    stage: str
    event: ChatEvent | None = None
    message: str = ""


def run_recipe(
    digits_dir: str | Path, out_dir: str | Path, recipe: ChatRecipe
) -> Iterator[RecipeEvent]:
    """Run (or continue) every stage; ends with ``out/chat/model`` and ``out/scores.json``."""
    from mmstudio.models.builtin import DIGITS
    from mmstudio.models.registry import get_model
    from mmstudio.training.chat.architecture import build_digits_chat
    from mmstudio.training.chat.data import build_chat_records, describe_counts
    from mmstudio.training.chat.features import FeatureBank
    from mmstudio.training.manifest import read_manifest

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / RECIPE).write_text(json.dumps(asdict(recipe), indent=2) + "\n", encoding="utf-8")
    torch.set_num_threads(recipe.threads)
    manifest = read_manifest(digits_dir)
    train = manifest.split("train")
    teacher = None
    if recipe.distill:
        if DIGITS.available:
            teacher = ClassifierTeacher(get_model(DIGITS.name, "cpu"))
        else:
            yield RecipeEvent("encoders", message="no shipped classifier: pretraining on labels")
    parts = build_digits_chat(seed=recipe.seed)
    for medium in MEDIA:
        stage = f"{ENCODERS_DIR}/{medium}"
        pretraining = EncoderPretraining(
            parts.model,
            parts.processor,
            recipe.pretrain_settings(medium),
            media=(medium,),
            lr_scale={medium: 1.0},
            augmenter=MediaAugmenter(),
            teacher=teacher,
        )
        for event in pretraining.run(train, state_dir=out / stage):
            yield RecipeEvent(stage, event)
        if manifest.split("val"):
            held_out = pretraining.accuracy(manifest.split("val"))[medium]
            yield RecipeEvent(
                stage, message=f"{medium} encoder, validation accuracy {held_out:.3f}"
            )

    records = build_chat_records(train, recipe.chat_records, seed=recipe.seed)
    yield RecipeEvent(CHAT_DIR, message=f"training questions: {describe_counts(records)}")

    def bank(model, processor):
        built = FeatureBank(
            model,
            processor,
            variants=recipe.bank_variants,
            augmenter=MediaAugmenter(),
            seed=recipe.seed,
        )
        built.build(records)
        return built

    for event in train_chat(
        out / CHAT_DIR, records, recipe.chat_settings(), parts=parts, bank=bank
    ):
        yield RecipeEvent(CHAT_DIR, event)

    if not (out / SCORES).is_file():
        yield RecipeEvent("scores", message="scoring the test split")
        scores = score_run(out / CHAT_DIR / MODEL, manifest, recipe)
        (out / SCORES).write_text(json.dumps(scores, indent=1) + "\n", encoding="utf-8")
    yield RecipeEvent("scores", message=f"wrote {out / SCORES}")


def score_run(model_dir: Path, manifest: Any, recipe: ChatRecipe) -> dict[str, Any]:
    """Exact-match accuracy and the explanation checks on the test split, with the held-out
    question templates; the record ids of every failure are kept for the model card."""
    from mmstudio.models.registry import get_model
    from mmstudio.training.chat.checks import explanation_checks
    from mmstudio.training.chat.data import build_chat_records
    from mmstudio.training.chat.evaluate import evaluate_chat

    test = manifest.split("test")
    records = build_chat_records(
        test, recipe.eval_records, seed=recipe.seed + 1, template_set="heldout"
    )
    model = get_model(model_dir)
    started = time.perf_counter()
    score = evaluate_chat(model, records)
    summary = score.summary()
    summary["evaluate_seconds"] = round(time.perf_counter() - started, 1)
    checked = build_chat_records(
        test, recipe.check_records, seed=recipe.seed + 2, template_set="heldout"
    )
    return {
        "test": summary,
        "failures": score.failures,
        "explanations": explanation_checks(model, checked),
    }
