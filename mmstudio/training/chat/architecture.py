"""The digits-chat model: a small Qwen2.5-Omni thinker with a tokenizer and processor built here.

Why the Omni thinker: it is the one transformers class that takes an image, an audio clip and
text in one prompt (a ViT with 2x2 patch merging, a Whisper-style audio encoder, both projected
into a Qwen2 decoder), it is loaded by ``AutoModelForMultimodalLM`` with ``AutoProcessor``, and
the studio already opens downloaded Qwen2.5-Omni folders through the same code. Training one of
our own therefore exercises exactly the path a user's model takes.

Everything is built offline: the tokenizer with the ``tokenizers`` library, wrapped as a
``PreTrainedTokenizerFast``; the processor from its constructors (Qwen2-VL image processor,
Whisper feature extractor) with a ChatML chat template. ``tests/generative/tiny_models.py``
builds its tiny random families from the same pieces.

The tokenizer is word-level for the words it knows (the questions, the answers, the number words
of the digits dataset's eight languages and its training phrasings) and falls back to single
characters for any other word, so a typo ("sevne") or an unseen phrasing still reaches the model
as characters instead of one unknown token.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SAMPLING_RATE = 16000
UNK = "<unk>"
CHATML = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN_AUDIO = ["<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>"]
OMNI_VISION = ["<|vision_bos|>", "<|vision_eos|>", "<|vision_pad|>", "<|IMAGE|>", "<|VIDEO|>"]
OMNI_SPECIALS = CHATML + OMNI_VISION + QWEN_AUDIO
# The tokenizer attributes the Omni processor reads its placeholders from.
OMNI_NAMED = {
    "image_token": "<|IMAGE|>",
    "audio_token": "<|AUDIO|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}
OMNI_IMAGE_PART = "{{ '<|vision_bos|><|IMAGE|><|vision_eos|>' }}"
OMNI_AUDIO_PART = "{{ '<|audio_bos|><|AUDIO|><|audio_eos|>' }}"
CHAT_ROLES = ["system", "user", "assistant"]
DIGITS_CHAT_SYSTEM = None  # no system turn: every prompt token costs time on a 2-core CPU


# --- the tokenizer ---------------------------------------------------------------------------


def word_tokenizer(
    words: Iterable[str],
    specials: Sequence[str],
    *,
    eos: str,
    pad: str,
    named: dict[str, str] | None = None,
    characters: Iterable[str] = (),
    lowercase: bool = True,
):
    """A word-level ``PreTrainedTokenizerFast``: ``<unk>``, the special tokens, then the words.

    Special tokens are added tokens, matched before any splitting, so a run of placeholders
    (``<|IMAGE|><|IMAGE|>``) gives one id each. ``named`` gives the model-specific token
    attributes a processor reads (``tokenizer.image_token``). With ``characters``, a word the
    vocabulary lacks is spelled out in them (WordPiece: the first character, then ``##``
    pieces) instead of becoming ``<unk>``; without, the tokenizer lowercases and splits on
    whitespace and punctuation, as the tests' tiny models expect."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    characters = list(dict.fromkeys(characters))
    for token in [UNK, *specials, *words, *characters, *(f"##{c}" for c in characters)]:
        vocab.setdefault(token, len(vocab))
    if characters:
        backend = Tokenizer(
            models.WordPiece(vocab=vocab, unk_token=UNK, max_input_chars_per_word=64)
        )
        # Each CJK ideograph is a word of its own (Chinese and Japanese write no spaces).
        backend.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=lowercase
        )
        backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    else:
        backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
        if lowercase:
            backend.normalizer = normalizers.Lowercase()  # "What" and "USER" are words too
        backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    # WordPiece's decoder joins words with spaces, glues "##" pieces and closes the space
    # before . , ? and !; the replacements close it before ; and : too.
    backend.decoder = decoders.Sequence(
        [
            decoders.WordPiece(prefix="##", cleanup=True),
            decoders.Replace(" ;", ";"),
            decoders.Replace(" :", ":"),
        ]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token=UNK,
        eos_token=eos,
        pad_token=pad,
        extra_special_tokens=named if named else list(specials),
        additional_special_tokens=None,
    )


def check_specials(tokenizer, specials: Sequence[str]) -> dict[str, int]:
    """Each special token's id; raises if one does not tokenize to exactly its own id."""
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in specials}
    for token, token_id in ids.items():
        if tokenizer.encode(token, add_special_tokens=False) != [token_id]:
            raise AssertionError(f"{token} does not tokenize to one id")
    return ids


# --- the processor's parts -------------------------------------------------------------------


def chatml_template(system: str | None, image: str = "", audio: str = "") -> str:
    """A ChatML template (Qwen's convention) that renders media parts in the order given.

    ``system`` is the system turn put first when the messages have none (None: no system turn).
    ``image`` and ``audio`` are the Jinja snippets a part renders to; ``audio_count`` and
    ``image_count`` count the parts, for templates that number them ("Audio 1: ...")."""
    default_system = (
        "{%- if loop.first and message['role'] != 'system' -%}"
        "{{ '<|im_start|>system\\n" + system + "<|im_end|>\\n' }}"
        "{%- endif -%}"
        if system is not None
        else ""
    )
    return (
        "{%- set image_count = namespace(value=0) -%}"
        "{%- set audio_count = namespace(value=0) -%}"
        "{%- for message in messages -%}" + default_system + ""
        "{{ '<|im_start|>' + message['role'] + '\\n' }}"
        "{%- if message['content'] is string -%}{{ message['content'] }}"
        "{%- else -%}{%- for part in message['content'] -%}"
        "{%- if part['type'] == 'image' -%}"
        "{%- set image_count.value = image_count.value + 1 -%}" + image + ""
        "{%- elif part['type'] == 'audio' -%}"
        "{%- set audio_count.value = audio_count.value + 1 -%}" + audio + ""
        "{%- elif part['type'] == 'text' -%}{{ part['text'] }}"
        "{%- endif -%}{%- endfor -%}{%- endif -%}"
        "{{ '<|im_end|>\\n' }}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
    )


def qwen_image_processor(
    min_pixels: int = 4 * 28 * 28, max_pixels: int = 16 * 28 * 28, patch: int = 14
):
    """Qwen2-VL's dynamic-resolution processor: images resized to multiples of 2 patches with
    between ``min_pixels`` and ``max_pixels`` pixels, ``patch``-pixel patches merged 2x2."""
    from transformers import Qwen2VLImageProcessor

    return Qwen2VLImageProcessor(
        size={"shortest_edge": min_pixels, "longest_edge": max_pixels},
        patch_size=patch,
        temporal_patch_size=2,
        merge_size=2,
    )


def qwen_video_processor(
    min_pixels: int = 4 * 28 * 28, max_pixels: int = 16 * 28 * 28, patch: int = 14
):
    from transformers import Qwen2VLVideoProcessor

    return Qwen2VLVideoProcessor(
        size={"shortest_edge": min_pixels, "longest_edge": max_pixels},
        patch_size=patch,
        temporal_patch_size=2,
        merge_size=2,
    )


def whisper_features(mel_bins: int, chunk_seconds: int):
    """Whisper log-mel features every 10 ms; every clip padded or cut to ``chunk_seconds``."""
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(
        feature_size=mel_bins,
        sampling_rate=SAMPLING_RATE,
        hop_length=160,
        chunk_length=chunk_seconds,
        n_fft=400,
    )


def set_generation_ids(model, eos: int, pad: int, bos: int | None = None) -> None:
    generation = model.generation_config
    generation.eos_token_id = eos
    generation.pad_token_id = pad
    if bos is not None:
        generation.bos_token_id = bos
    generation.do_sample = False


def save_folder(model, processor, folder: Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)  # transformers 5 writes safetensors only
    processor.save_pretrained(folder)
    return folder


# --- the Omni thinker --------------------------------------------------------------------------


@dataclass(frozen=True)
class OmniSize:
    """The sizes of a Qwen2.5-Omni thinker (the defaults: the tests' tiny random model)."""

    text_hidden: int = 64
    text_intermediate: int = 128
    text_layers: int = 2
    text_heads: int = 4
    text_kv_heads: int = 2
    mrope_section: tuple[int, int, int] = (2, 3, 3)  # (t, h, w), summing to head_dim / 2
    vision_hidden: int = 32
    vision_intermediate: int = 64
    vision_depth: int = 2
    vision_heads: int = 4
    vision_window: int = 56  # pixels: windowed attention over 2x2 merged cells
    patch: int = 14  # pixels of a patch side; 2x2 patches merge into one image token
    vision_full_attention: tuple[int, ...] = (1,)
    audio_d_model: int = 32
    audio_ffn: int = 64
    audio_layers: int = 2
    audio_heads: int = 4
    audio_window: int = 50  # the encoder attends within chunks of 2 * n_window mel frames
    mel_bins: int = 32
    audio_seconds: int = 4  # the feature extractor's chunk: every clip is padded or cut to it
    image_min_pixels: int = 4 * 28 * 28
    image_max_pixels: int = 16 * 28 * 28
    tie_embeddings: bool | None = None  # None: the config's default (the tiny models')
    max_positions: int = 1024

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Sized for a 2-core CPU: a few million parameters, answers in a few milliseconds per token.
# A digits image (64x64) is resized to 84x84: 6x6 patches, 9 merged image tokens; a 1.5 s
# clip gives 37 audio tokens.
DIGITS_CHAT_SIZE = OmniSize(
    text_hidden=128,
    text_intermediate=384,
    text_layers=4,
    text_heads=4,
    text_kv_heads=2,
    mrope_section=(4, 6, 6),
    vision_hidden=96,
    vision_intermediate=192,
    vision_depth=4,
    vision_heads=4,
    vision_window=56,
    vision_full_attention=(1, 3),
    audio_d_model=96,
    audio_ffn=192,
    audio_layers=4,
    audio_heads=4,
    audio_window=50,
    mel_bins=64,
    audio_seconds=2,
    image_min_pixels=84 * 84,
    image_max_pixels=112 * 112,
    tie_embeddings=True,
    max_positions=1024,
)


def omni_tokenizer(words: Iterable[str] = (), characters: Iterable[str] = (), **options):
    """The tokenizer with the Omni special tokens and the chat roles as words."""
    return word_tokenizer(
        [*CHAT_ROLES, *words],
        OMNI_SPECIALS,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        named=OMNI_NAMED,
        characters=characters,
        **options,
    )


def omni_thinker_config(tokenizer, size: OmniSize):
    from transformers import Qwen2_5OmniThinkerConfig

    ids = check_specials(tokenizer, OMNI_SPECIALS)
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": size.text_hidden,
        "intermediate_size": size.text_intermediate,
        "num_hidden_layers": size.text_layers,
        "num_attention_heads": size.text_heads,
        "num_key_value_heads": size.text_kv_heads,
        "max_position_embeddings": size.max_positions,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
        # multimodal rotary: (temporal, height, width) sections over head_dim / 2
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 1000000.0,
            "mrope_section": list(size.mrope_section),
        },
    }
    tie = {}
    if size.tie_embeddings is not None:
        text["tie_word_embeddings"] = size.tie_embeddings
        tie["tie_word_embeddings"] = size.tie_embeddings
    return Qwen2_5OmniThinkerConfig(
        text_config=text,
        vision_config={
            "depth": size.vision_depth,
            "hidden_size": size.vision_hidden,
            "intermediate_size": size.vision_intermediate,
            "num_heads": size.vision_heads,
            "out_hidden_size": size.text_hidden,
            "patch_size": size.patch,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": size.vision_window,
            "fullatt_block_indexes": list(size.vision_full_attention),
        },
        audio_config={
            "num_mel_bins": size.mel_bins,
            "encoder_layers": size.audio_layers,
            "encoder_attention_heads": size.audio_heads,
            "encoder_ffn_dim": size.audio_ffn,
            "d_model": size.audio_d_model,
            "output_dim": size.text_hidden,
            # the encoder's positions: the chunk's mel frames after its stride-2 convolution
            "max_source_positions": size.audio_seconds * 100 // 2,
            "n_window": size.audio_window,
        },
        audio_token_index=ids["<|AUDIO|>"],
        image_token_index=ids["<|IMAGE|>"],
        video_token_index=ids["<|VIDEO|>"],
        audio_start_token_id=ids["<|audio_bos|>"],
        audio_end_token_id=ids["<|audio_eos|>"],
        vision_start_token_id=ids["<|vision_bos|>"],
        user_token_id=tokenizer.convert_tokens_to_ids("user"),
        **tie,
    )


def omni_thinker(tokenizer, size: OmniSize, seed: int = 0):
    """A randomly initialised thinker (seeded), in eval mode, greedy, ending at <|im_end|>."""
    import torch
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    config = omni_thinker_config(tokenizer, size)
    torch.manual_seed(seed)
    model = Qwen2_5OmniThinkerForConditionalGeneration(config).eval()
    ids = check_specials(tokenizer, OMNI_SPECIALS)
    set_generation_ids(model, ids["<|im_end|>"], ids["<|endoftext|>"], ids["<|endoftext|>"])
    return model


def omni_processor(tokenizer, size: OmniSize, system: str | None):
    from transformers import Qwen2_5OmniProcessor

    return Qwen2_5OmniProcessor(
        image_processor=qwen_image_processor(
            size.image_min_pixels, size.image_max_pixels, size.patch
        ),
        video_processor=qwen_video_processor(
            size.image_min_pixels, size.image_max_pixels, size.patch
        ),
        feature_extractor=whisper_features(size.mel_bins, size.audio_seconds),
        tokenizer=tokenizer,
        chat_template=chatml_template(system, image=OMNI_IMAGE_PART, audio=OMNI_AUDIO_PART),
    )


# --- digits-chat -------------------------------------------------------------------------------


@functools.cache
def digits_chat_words() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(words, characters) of the digits-chat tokenizer, in a fixed order (ids depend on it).

    Words: the questions' and answers' (questions.vocabulary), every number word of the digits
    dataset, the words of its training phrasings and its distractors. Characters: every
    character those texts and the held-out phrasings use, plus the Latin, Cyrillic and kana
    alphabets, so that any word typed in those scripts is spelled out rather than lost."""
    from mmstudio.training.chat import questions
    from mmstudio.training.digits import text as digit_text

    words: dict[str, None] = dict.fromkeys(questions.vocabulary())
    numbers = [w for lang in digit_text.NUMBER_WORDS.values() for digit in lang for w in digit]
    train_phrases = [t for lang in digit_text.TEMPLATES.values() for t in lang["train"]]
    distractors = [w for words_ in digit_text.DISTRACTORS.values() for w in words_]
    for text in [*numbers, *[t.replace("{n}", " ") for t in train_phrases], *distractors]:
        for word in questions.split_words(text):
            if not _has_ideograph(word):  # ideographs are words of their own (see the normalizer)
                words.setdefault(word, None)
                words.setdefault(word[0].upper() + word[1:], None)
    every_phrase = [t for lang in digit_text.TEMPLATES.values() for s in lang.values() for t in s]
    characters: dict[str, None] = dict.fromkeys(str(d) for d in range(10))
    alphabets = [
        (0x21, 0x7E),  # ASCII
        (0xC0, 0xFF),  # Latin-1 letters
        (0x400, 0x45F),  # Cyrillic
        (0x3041, 0x3096),  # hiragana
        (0x30A1, 0x30FC),  # katakana
    ]
    for start, end in alphabets:
        characters.update(dict.fromkeys(chr(c) for c in range(start, end + 1)))
    for text in [*numbers, *every_phrase, *distractors]:
        characters.update(dict.fromkeys(c for c in text if not c.isspace() and c != "{"))
    characters.pop("}", None)
    return tuple(words), tuple(c for c in characters if c not in "{}")


def _has_ideograph(word: str) -> bool:
    return any(0x4E00 <= ord(c) <= 0x9FFF or 0x3400 <= ord(c) <= 0x4DBF for c in word)


@dataclass
class DigitsChatParts:
    model: Any
    processor: Any
    size: OmniSize = field(default=DIGITS_CHAT_SIZE)

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per part: the vision tower, the audio encoder and the text decoder."""
        counts: dict[str, int] = {}
        for name, param in self.model.named_parameters():
            part = encoder_of(name) or "language_model"
            counts[part] = counts.get(part, 0) + param.numel()
        return counts


def build_digits_chat(size: OmniSize = DIGITS_CHAT_SIZE, seed: int = 0) -> DigitsChatParts:
    """A randomly initialised digits-chat model and its processor (nothing is written)."""
    words, characters = digits_chat_words()
    tokenizer = omni_tokenizer(words, characters, lowercase=False)
    model = omni_thinker(tokenizer, size, seed)
    processor = omni_processor(tokenizer, size, DIGITS_CHAT_SYSTEM)
    return DigitsChatParts(model, processor, size)


ENCODERS = ("visual", "audio_tower")


def encoder_of(parameter_name: str) -> str | None:
    """The encoder a parameter belongs to ("visual" or "audio_tower"), or None for the text
    decoder's. By the name's parts, not its prefix: transformers releases nest the towers
    differently (``model.visual.`` in 5.24, ``visual.`` in 5.6)."""
    parts = parameter_name.split(".")
    return next((part for part in parts[:2] if part in ENCODERS), None)


def encoder_module(model: Any, name: str) -> Any:
    """The thinker's ``visual`` or ``audio_tower``, wherever this transformers release keeps it."""
    found = getattr(model, name, None)
    return found if found is not None else getattr(model.model, name)
