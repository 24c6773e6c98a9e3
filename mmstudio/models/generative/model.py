"""A Hugging Face generative model as mmstudio explains it: prompts from any coalition of the
modalities, answers streamed token by token, and answers teacher-forced under many prompts in one
batched call.

The model and its processor are the family's own (LLaVA, Qwen2-VL, Qwen2-Audio, the Qwen2.5-Omni
thinker, or any other the Auto classes load whose processor follows the conventions): nothing
here knows a family by name.
"""

from __future__ import annotations

import copy
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mmstudio import MODALITIES
from mmstudio.inputs.sample import Sample
from mmstudio.models.generative.options import GenerationOptions
from mmstudio.models.generative.prompt import ProcessorStyle, processor_inputs
from mmstudio.models.generative.streaming import StopWhen, TokenStreamer

GENERATION = "generation"
# What one teacher-forced call may hold, in bytes of the largest activation (the attention
# scores of eager attention, or the hidden states): past it the coalitions go in several calls.
TEACHER_FORCING_BUDGET = 1 << 30


@dataclass
class GeneratedAnswer:
    """The new tokens of one generation and why it ended ("eos", "length" or "stopped")."""

    token_ids: list[int]
    finished: str
    prompt_tokens: int
    first_token_seconds: float | None
    seconds: float


class GenerativeModel:
    """A loaded Hugging Face generative model and its processor, on one device."""

    task = GENERATION
    # A generator has no fixed labels; the contract's ``labels`` stays for the registry's sake.
    labels: list[str] = []  # noqa: RUF012 - never mutated

    def __init__(self, hf_model: Any, processor: Any, *, name: str, location: str = ""):
        self.hf_model = hf_model
        self.processor = processor
        self.name = name
        self.location = location
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.style = ProcessorStyle.of(processor)
        self.modalities = _modalities_of(processor)
        # modality -> "occlusion" or "attention", overriding maps.DEFAULT_METHODS.
        self.map_methods: dict[str, str] = {}
        self._keeps_logits = "logits_to_keep" in inspect.signature(hf_model.forward).parameters

    def answer_maps(self, sample, answer_ids, prompt_tokens=None, methods=None) -> dict[str, Any]:
        """Per-token maps over the image, the audio and the words (maps.py), by ``methods``
        (modality -> method, one analysis's choice), then ``map_methods`` (this model's), then
        maps.DEFAULT_METHODS."""
        from mmstudio.models.generative.maps import answer_maps

        chosen = {**self.map_methods, **(methods or {})}
        return answer_maps(self, sample, answer_ids, prompt_tokens, chosen)

    @classmethod
    def from_loaded(cls, loaded: Any) -> GenerativeModel:
        """The model a ``loading.LoadedFolder`` holds."""
        return cls(loaded.hf_model, loaded.processor, name=loaded.name, location=loaded.location)

    # ---- the contract ------------------------------------------------------------------------

    def to(self, device) -> GenerativeModel:
        self.hf_model.to(device)
        return self

    def eval(self) -> GenerativeModel:
        self.hf_model.eval()
        return self

    def parameters(self):
        return self.hf_model.parameters()

    @property
    def device(self) -> torch.device:
        return next(self.hf_model.parameters()).device

    # ---- prompting ---------------------------------------------------------------------------

    def prompt(
        self,
        samples: Sequence[Sample],
        coalitions: Sequence[Sequence[str]],
        *,
        images: Sequence[Any] | None = None,
        audios: Sequence[np.ndarray] | None = None,
    ):
        """Processor inputs on the model's device: row i is samples[i] with coalitions[i]."""
        inputs = processor_inputs(
            self.processor, self.style, samples, coalitions, images=images, audios=audios
        )
        return inputs.to(self.device)

    def input_notes(self, sample: Sample) -> list[str]:
        """What a user should know about how the model takes this sample: a clip longer than
        the feature extractor's chunk is heard only up to it."""
        from mmstudio.models.generative.layout import audio_seconds_covered

        if "audio" not in sample.present or "audio" not in self.modalities:
            return []
        heard = audio_seconds_covered(self.processor, sample.audio.duration)
        if heard >= sample.audio.duration - 1e-6:
            return []
        return [
            f"the model hears the first {heard:g} s of the {sample.audio.duration:.1f} s clip "
            "(its audio features stop there); the rest is not part of the answer"
        ]

    def decode(self, token_ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(token_ids), skip_special_tokens=True)

    def token_texts(self, token_ids: Sequence[int]) -> list[str]:
        """Each token as it reads in the answer: the pieces concatenate to ``decode(ids)``, so a
        character split over two byte-level tokens shows on the token that completes it."""
        pieces, previous = [], ""
        for end in range(1, len(token_ids) + 1):
            text = self.decode(token_ids[:end])
            pieces.append(text[len(previous) :] if text.startswith(previous) else text)
            previous = text
        return pieces

    # ---- generation --------------------------------------------------------------------------

    @torch.no_grad()
    def generate(
        self,
        sample: Sample,
        options: GenerationOptions,
        *,
        on_token: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        coalition: Sequence[str] | None = None,
    ) -> GeneratedAnswer:
        """transformers' own ``generate`` on the sample's prompt, each new token passed to
        ``on_token`` as it is chosen; ``should_stop`` is asked between steps."""
        # An empty coalition is a prompt without any input part, not the whole sample.
        chosen = sample.present if coalition is None else coalition
        inputs = self.prompt([sample], [tuple(chosen)])
        prompt_tokens = int(inputs["input_ids"].shape[1])
        streamer = TokenStreamer(on_token)
        stop = StopWhen(should_stop)
        config = self._generation_config(options)
        if options.do_sample:
            torch.manual_seed(options.seed)
        started = time.perf_counter()
        output = self.hf_model.generate(
            **inputs, generation_config=config, streamer=streamer, stopping_criteria=[stop]
        )
        seconds = time.perf_counter() - started
        new = output[0, prompt_tokens:].tolist()
        ids, ended_by_eos = self._strip_end(new)
        finished = "stopped" if stop.stopped else ("eos" if ended_by_eos else "length")
        first = streamer.first_token_at - started if streamer.first_token_at else None
        return GeneratedAnswer(ids, finished, prompt_tokens, first, seconds)

    def _generation_config(self, options: GenerationOptions):
        config = copy.deepcopy(self.hf_model.generation_config)
        config.max_new_tokens = options.max_new_tokens
        config.do_sample = options.do_sample
        if options.do_sample:
            config.temperature = options.temperature
            config.top_p = options.top_p
        else:
            # Greedy: sampling settings a folder ships would only raise warnings.
            config.temperature, config.top_p, config.top_k = None, None, None
        if config.pad_token_id is None:
            config.pad_token_id = self.tokenizer.pad_token_id or _first(config.eos_token_id)
        # An answer holding a media placeholder cannot be teacher-forced: the model would look
        # for the image's or audio's features at that position. Trained models never write one;
        # random or lightly tuned ones can, so the placeholders are never chosen.
        placeholders = self.placeholder_ids()
        if placeholders:
            config.suppress_tokens = sorted({*(config.suppress_tokens or []), *placeholders})
        return config

    def placeholder_ids(self) -> list[int]:
        """The ids of the tokens the model fills with image, video or audio features."""
        from mmstudio.models.generative.layout import token_ids

        config = self.hf_model.config
        found = (token_ids(self.processor, config, kind) for kind in ("image", "video", "audio"))
        return sorted({ids[0] for ids in found if ids})

    def _end_ids(self) -> set[int]:
        ids = self.hf_model.generation_config.eos_token_id
        ids = ids if isinstance(ids, list) else [ids]
        return {int(i) for i in ids if i is not None}

    def _strip_end(self, token_ids: list[int]) -> tuple[list[int], bool]:
        """The answer's tokens without the end-of-sequence token (and the padding after it)."""
        ends = self._end_ids()
        for position, token in enumerate(token_ids):
            if token in ends:
                return token_ids[:position], True
        return token_ids, False

    # ---- teacher forcing ---------------------------------------------------------------------

    @torch.no_grad()
    def answer_logprobs(
        self,
        samples: Sequence[Sample],
        coalitions: Sequence[Sequence[str]],
        answer_ids: Sequence[int],
        *,
        images: Sequence[Any] | None = None,
        audios: Sequence[np.ndarray] | None = None,
        prompt_tokens: int | None = None,
    ):
        """(rows, T) log-probability of each answer token after each row's prompt, in float64,
        in as few calls as TEACHER_FORCING_BUDGET allows (``prompt_tokens``, the full prompt's
        length, sizes the calls; measured when not given)."""
        rows = len(coalitions)
        if prompt_tokens is None:
            prompt_tokens = int(self.prompt(samples[:1], coalitions[-1:])["input_ids"].shape[1])
        per_call = self._rows_per_call(prompt_tokens + len(answer_ids), len(answer_ids))
        parts = []
        for start in range(0, rows, per_call):
            chunk = slice(start, start + per_call)
            logprobs, _ = self._forced_call(
                samples[chunk],
                coalitions[chunk],
                answer_ids,
                images=images[chunk] if images is not None else None,
                audios=audios[chunk] if audios is not None else None,
            )
            parts.append(logprobs)
        return np.concatenate(parts, 0)

    @torch.no_grad()
    def forced_with_attention(self, sample: Sample, answer_ids: Sequence[int]):
        """The full prompt teacher-forced once with attention weights kept: (log-probs (1, T),
        the model inputs, the attentions per layer (1, heads, L, L))."""
        return self._forced_call([sample], [sample.present], answer_ids, output_attentions=True)

    def _forced_call(self, samples, coalitions, answer_ids, *, images=None, audios=None, **extra):
        inputs = self.prompt(samples, coalitions, images=images, audios=audios)
        inputs = _with_answer(inputs, answer_ids)
        count = len(answer_ids)
        kwargs = {"use_cache": False, **extra}
        if self._keeps_logits:
            kwargs["logits_to_keep"] = count + 1
        output = self.hf_model(**inputs, **kwargs)
        logits = output.logits[:, -count - 1 : -1].float()
        targets = torch.tensor(answer_ids, device=logits.device).expand(logits.shape[0], -1)
        chosen = torch.log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        logprobs = chosen.double().cpu().numpy()
        if extra.get("output_attentions"):
            return logprobs, (inputs, output.attentions)
        return logprobs, None

    def _rows_per_call(self, length: int, answer_tokens: int) -> int:
        """How many teacher-forced rows fit in one call under TEACHER_FORCING_BUDGET."""
        config = self.hf_model.config
        text = getattr(config, "text_config", config)
        hidden = int(getattr(text, "hidden_size", 1024))
        heads = int(getattr(text, "num_attention_heads", 16))
        vocab = int(getattr(text, "vocab_size", 32000))
        # A forward without logits_to_keep computes logits at every position, not only the
        # answer's: for a large vocabulary that is the biggest tensor of the call.
        scored = answer_tokens + 1 if self._keeps_logits else length
        row = 4 * (heads * length * length + 8 * length * hidden + scored * vocab)
        return max(1, TEACHER_FORCING_BUDGET // row)


def _with_answer(inputs, answer_ids: Sequence[int]):
    """The prompts with the answer appended to every row: the mask extended with ones, and any
    other per-token tensor (token type ids) with zeros, the value of a text token."""
    ids = inputs["input_ids"]
    answer = torch.tensor(list(answer_ids), dtype=ids.dtype, device=ids.device)
    answer = answer.expand(ids.shape[0], -1)
    for key, value in list(inputs.items()):
        if not torch.is_tensor(value) or value.shape[:2] != ids.shape[:2] or value.dim() != 2:
            continue
        if key == "input_ids":
            inputs[key] = torch.cat([value, answer], 1)
        else:
            fill = torch.ones_like if key == "attention_mask" else torch.zeros_like
            inputs[key] = torch.cat([value, fill(answer).to(value.dtype)], 1)
    return inputs


def _modalities_of(processor: Any) -> tuple[str, ...]:
    """The modalities a processor takes: an image processor means images, a feature extractor
    audio; every chat processor takes text."""
    has = {
        "image": getattr(processor, "image_processor", None) is not None,
        "text": True,
        "audio": getattr(processor, "feature_extractor", None) is not None,
    }
    return tuple(m for m in MODALITIES if has[m])


def _first(value):
    return value[0] if isinstance(value, list) else value
