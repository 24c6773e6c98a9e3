"""Tiny random Hugging Face generative model folders, built offline, for tests.

Each ``build_<family>(folder)`` writes a complete model folder (config, random weights in
``model.safetensors``, tokenizer, processor with a chat template) that reloads with the hub
offline through ``AutoProcessor`` and ``AutoModelForMultimodalLM`` (and
``AutoModelForImageTextToText`` where the family maps there). Weights are seeded, so a folder
is the same on every build. The tokenizers are word-level over a few hundred English words:
answers are random words, which is all the tests need (they exercise the code paths).

Processor calls, per family (what a generic prompt builder needs to know)
--------------------------------------------------------------------------
All four are called as ``processor(text=[rendered], images=..., audio=..., return_tensors="pt")``
where ``rendered = processor.apply_chat_template(messages, tokenize=False,
add_generation_prompt=True)`` and each message's content is a list of ``{"type": "image"}``,
``{"type": "audio"}`` and ``{"type": "text", "text": ...}`` parts, in any order. The processor
expands each single placeholder in the rendered text into as many tokens as the media needs.

- llava: ``processor(text=..., images=[pil_image])``. Placeholder ``<image>``, expanded to a
  fixed 4x4 grid (16 tokens: 56x56 crop, patch 14, the CLS feature dropped by the "default"
  select strategy). Any image size is resized and centre-cropped to 56x56. Inputs:
  ``input_ids, attention_mask, pixel_values``.
- qwen2_vl: ``processor(text=..., images=[pil_image])``. Placeholder
  ``<|vision_start|><|image_pad|><|vision_end|>``; ``<|image_pad|>`` is expanded to
  ``prod(image_grid_thw) // 4`` tokens (2x2 merge). Dynamic grid: the image is resized to
  multiples of 28 within ``size={"shortest_edge": 4*28*28, "longest_edge": 16*28*28}`` pixels,
  keeping its aspect (a 96x64 image gives ``image_grid_thw == [[1, 4, 6]]``, i.e. 2x3 merged
  tokens, row-major). Inputs: ``input_ids, attention_mask, pixel_values, image_grid_thw`` and
  ``mm_token_type_ids`` (the processor returns it by default; ``generate`` accepts it).
  The processor needs a video processor too (``Qwen2VLVideoProcessor``, saved alongside).
- qwen2_audio: ``processor(text=..., audio=[clip], sampling_rate=16000)`` (the keyword is
  ``audio=``; ``audios=`` is gone in transformers 5). Placeholder
  ``<|audio_bos|><|AUDIO|><|audio_eos|>``; ``<|AUDIO|>`` is expanded to one token per 40 ms of
  the real clip (``((frames - 1) // 2 + 1 - 2) // 2 + 1`` over the unpadded mel frames), so
  the audio tokens cover exactly the clip. The feature extractor pads every clip to its
  ``chunk_length`` (4 s here, 400 mel frames); longer clips are truncated to 4 s. The number
  of ``<|AUDIO|>`` placeholders in the text must equal the number of clips (ValueError
  otherwise). Inputs: ``input_ids, attention_mask, input_features, feature_attention_mask``.
- qwen25_omni_thinker: ``processor(text=..., images=[pil_image], audio=[clip],
  sampling_rate=16000)``; either media may be left out (text-only works with ``text=`` alone).
  Placeholders ``<|vision_bos|><|IMAGE|><|vision_eos|>`` and
  ``<|audio_bos|><|AUDIO|><|audio_eos|>``; the image grid works as in qwen2_vl, the audio
  token count as in qwen2_audio (chunk 4 s). The processor reads its special tokens from the
  tokenizer's attributes (``tokenizer.image_token``, ``audio_token``, ``video_token``,
  ``vision_bos_token``, ... and their ``_id``s), so the tokenizer declares them as named
  ``extra_special_tokens``. Inputs: ``input_ids, attention_mask`` plus ``pixel_values,
  image_grid_thw`` and/or ``input_features, feature_attention_mask``. The folder's config is
  the thinker alone (``model_type`` ``qwen2_5_omni_thinker``), so it has no talker and
  ``generate`` returns token ids only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

SEED = 0
SAMPLING_RATE = 16000
AUDIO_SECONDS = 4  # the feature extractor's chunk: every clip is padded or cut to this

# A few hundred real words, so random answers read as words. Order is fixed: ids depend on it.
_WORDS = """
the a an and or but not no yes of to in on at by for with from up down over under about
is are was were be been being have has had do does did will would can could should may might
i you he she it we they me him her us them my your his its our their this that these those
what which who whom whose where when why how all any both each few more most other some such
only own same so than too very just also now then here there again once
one two three four five six seven eight nine ten hundred thousand first second last next
man woman child boy girl people person friend family mother father dog cat bird fish horse cow
car bus train plane boat bike road street city town house home room door window wall floor
table chair bed book paper pen phone computer screen picture image photo sound music voice song
noise audio speech word text question answer story name day night morning evening time year
water fire tree flower grass sky sun moon star cloud rain snow wind sea river lake mountain
hill field park garden beach food bread apple orange banana cake milk coffee tea ball game
red green blue yellow black white brown gray pink purple orange color colour big small large
little long short tall high low old new young good bad great best better happy sad loud quiet
fast slow hot cold warm bright dark clear empty full left right top bottom middle front back
inside outside near far see look hear listen say speak talk tell ask show think know feel want
like love play run walk sit stand sleep eat drink read write sing dance open close make take
give get go come find keep hold turn move stop start work help call try use put bring many
much every something nothing someone everything there thing things way part place kind lot
side end point group number line sort set hand head face eye eyes ear ears mouth
describe describes describing shows showing contains appears seems playing sitting standing
background foreground scene object objects animal animals building buildings sound sounds
assistant user system audio image video
""".split()
_PUNCTUATION = list(".,!?:;'\"()-")
_DIGITS = list("0123456789")


def _tokenizer(specials: list[str], eos: str, pad: str, named: dict[str, str] | None = None):
    """A word-level ``PreTrainedTokenizerFast``: special tokens first (ids 0..), then words.

    Special tokens are added tokens, matched before the whitespace split, so a run of
    placeholders (``<image><image>...``) tokenizes to one id each. ``named`` gives the
    model-specific token attributes a processor reads (``tokenizer.image_token``)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    unk = "<unk>"
    vocab: dict[str, int] = {}
    for token in [unk, *specials, *_DIGITS, *_PUNCTUATION, *_WORDS]:
        vocab.setdefault(token, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=unk))
    backend.normalizer = normalizers.Lowercase()  # "What" and "USER" are words too
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    # WordPiece's decoder joins with spaces and closes the space before punctuation.
    backend.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token=unk,
        eos_token=eos,
        pad_token=pad,
        extra_special_tokens=named if named else list(specials),
        additional_special_tokens=None,
    )


def _check_specials(tokenizer, specials: list[str]) -> dict[str, int]:
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in specials}
    for token, token_id in ids.items():
        if tokenizer.encode(token, add_special_tokens=False) != [token_id]:
            raise AssertionError(f"{token} does not tokenize to one id")
    return ids


def _save(model, processor, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)  # transformers 5 writes safetensors only
    processor.save_pretrained(folder)
    return folder


# --- LLaVA ---------------------------------------------------------------------------------

LLAVA_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'text' -%}{{ part['text'] }}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}{{ '\n' }}"
    "{%- else -%}"
    "{{ message['role'].upper() + ': ' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{ '<image>\n' }}"
    "{%- elif part['type'] == 'text' -%}{{ part['text'] + ' ' }}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{%- if message['role'] == 'assistant' -%}{{ '</s>' }}{%- endif -%}{{ '\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ 'ASSISTANT:' }}{%- endif -%}"
)


def build_llava(folder: Path) -> Path:
    """LLaVA-1.5 layout: CLIP vision tower (56x56, patch 14: a 4x4 grid) + Llama text."""
    import torch
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    specials = ["<s>", "</s>", "<pad>", "<image>"]
    tokenizer = _tokenizer(specials, eos="</s>", pad="<pad>", named={"image_token": "<image>"})
    ids = _check_specials(tokenizer, specials)
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=56,
        patch_size=14,
        projection_dim=32,
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=ids["<s>"],
        eos_token_id=ids["</s>"],
        pad_token_id=ids["<pad>"],
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=ids["<image>"],
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
        projector_hidden_act="gelu",
    )
    torch.manual_seed(SEED)
    model = LlavaForConditionalGeneration(config).eval()
    _set_generation_ids(model, ids["</s>"], ids["<pad>"], ids["<s>"])
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": 56}, crop_size={"height": 56, "width": 56}
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's CLS feature, which "default" then drops
        chat_template=LLAVA_TEMPLATE,
    )
    return _save(model, processor, folder)


def _set_generation_ids(model, eos: int, pad: int, bos: int | None = None) -> None:
    generation = model.generation_config
    generation.eos_token_id = eos
    generation.pad_token_id = pad
    if bos is not None:
        generation.bos_token_id = bos
    generation.do_sample = False


FAMILIES: dict[str, Callable[[Path], Path]] = {
    "llava": build_llava,
}

MODALITIES: dict[str, tuple[str, ...]] = {
    "llava": ("image", "text"),
}


def sample_image(width: int = 96, height: int = 64):
    """A non-square RGB picture: a colour gradient with a bright square off centre."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([255 * x / width, 255 * y / height, np.full_like(x, 96.0)], axis=-1)
    pixels[height // 4 : height // 2, width // 2 : width // 2 + height // 4] = 250
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def sample_clip(seconds: float = 1.5, sampling_rate: int = SAMPLING_RATE):
    """A float32 mono clip: a rising tone with a little seeded noise."""
    import numpy as np

    t = np.arange(int(seconds * sampling_rate)) / sampling_rate
    tone = 0.5 * np.sin(2 * np.pi * (220 + 220 * t) * t)
    noise = 0.05 * np.random.default_rng(SEED).standard_normal(t.size)
    return (tone + noise).astype(np.float32)


def user_message(parts: list[str], text: str = "what is this ?") -> dict:
    """One user message whose content lists the given parts ("image", "audio", "text") in order."""
    content = [{"type": "text", "text": text} if p == "text" else {"type": p} for p in parts]
    return {"role": "user", "content": content}


def describe(folder: Path) -> dict:
    """The folder's config, for messages in tests."""
    return json.loads((folder / "config.json").read_text())
