"""The settings of a digits-chat run (no torch: the command line reads its defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ChatRecipe:
    """Every setting of a run; written to ``recipe.json`` so a run says how it was made."""

    seed: int = 0
    threads: int = 2
    batch_size: int = 32
    image_steps: int = 8000
    image_lr: float = 7e-4  # the vision transformer stalls at higher rates (feasibility)
    audio_steps: int = 8000
    audio_lr: float = 2e-3
    distill: bool = True
    chat_records: int = 120_000
    chat_steps: int = 6000
    chat_lr: float = 2e-3
    bank_variants: int = 4
    eval_records: int = 1000
    check_records: int = 300
    log_every: int = 50
    checkpoint_every: int = 250
    extra: dict[str, Any] = field(default_factory=dict)

    def pretrain_settings(self, medium: str):
        from mmstudio.training.chat.train import ChatTrainSettings

        steps, lr = {
            "image": (self.image_steps, self.image_lr),
            "audio": (self.audio_steps, self.audio_lr),
        }[medium]
        return ChatTrainSettings(
            steps=steps,
            batch_size=self.batch_size,
            lr=lr,
            seed=self.seed,
            threads=self.threads,
            log_every=self.log_every,
            checkpoint_every=self.checkpoint_every,
        )

    def chat_settings(self):
        from mmstudio.training.chat.train import ChatTrainSettings

        return ChatTrainSettings(
            steps=self.chat_steps,
            batch_size=self.batch_size,
            lr=self.chat_lr,
            seed=self.seed,
            threads=self.threads,
            log_every=self.log_every,
            checkpoint_every=self.checkpoint_every,
        )
