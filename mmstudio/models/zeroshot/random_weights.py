"""CLIP and CLAP folders with random weights, built offline, for tests and benchmarks.

"tiny" models load and run in well under a second on a CPU; "real" ones have the
architecture sizes of openai/clip-vit-base-patch32 and laion/clap-htsat-unfused (configs
written out by hand, nothing is downloaded), for timing on a GPU. Their tokenizers spell
words letter by letter, so their predictions mean nothing: they exercise the code paths.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import torch

from mmstudio.models.zeroshot.sources import ARCHITECTURE, SETTINGS_FILE

_CHARACTERS = string.ascii_lowercase + string.digits + ".,!?'-"
SIZES = ("tiny", "real")


def _clip_vocab() -> dict[str, int]:
    # Bare letters continue a word, "</w>" ends one; the special tokens come last so that
    # CLIP's "highest id is the end of text" convention holds.
    vocab = {c: i for i, c in enumerate(_CHARACTERS)}
    vocab.update({c + "</w>": len(_CHARACTERS) + i for i, c in enumerate(_CHARACTERS)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab


def _roberta_vocab() -> dict[str, int]:
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for prefix in ("", "\u0120"):  # byte-level BPE marks a preceding space with "Ġ"
        for c in _CHARACTERS:
            vocab[prefix + c] = len(vocab)
    vocab["<mask>"] = len(vocab)
    return vocab


def _clip_config(size: str, vocab: dict[str, int]):
    from transformers import CLIPConfig

    ids = {
        "bos_token_id": vocab["<|startoftext|>"],
        "eos_token_id": vocab["<|endoftext|>"],
        "pad_token_id": vocab["<|endoftext|>"],
    }
    if size == "tiny":
        text = {
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
            **ids,
        }
        vision = {
            "image_size": 32,
            "patch_size": 8,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
        }
        return CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
    text = {
        "vocab_size": 49408,
        "hidden_size": 512,
        "intermediate_size": 2048,
        "num_hidden_layers": 12,
        "num_attention_heads": 8,
        "max_position_embeddings": 77,
        **ids,
    }
    vision = {
        "image_size": 224,
        "patch_size": 32,
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
    }
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=512)


def _clap_config(size: str, vocab: dict[str, int]):
    from transformers import ClapConfig

    if size == "tiny":
        text = {
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "max_position_embeddings": 80,
        }
        # spec_size / num_mel_bins = 2 mel-to-image folds; two Swin stages of 8 then 16 channels.
        audio = {
            "spec_size": 32,
            "num_mel_bins": 16,
            "window_size": 4,
            "patch_size": 4,
            "patch_stride": [4, 4],
            "depths": [1, 1],
            "num_attention_heads": [2, 2],
            "patch_embeds_hidden_size": 8,
            "hidden_size": 16,
            "enable_fusion": False,
        }
        return ClapConfig(text_config=text, audio_config=audio, projection_dim=16)
    text = {
        "vocab_size": 50265,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "max_position_embeddings": 514,
    }
    audio = {
        "spec_size": 256,
        "num_mel_bins": 64,
        "window_size": 8,
        "patch_size": 4,
        "patch_stride": [4, 4],
        "depths": [2, 2, 6, 2],
        "num_attention_heads": [4, 8, 16, 32],
        "patch_embeds_hidden_size": 96,
        "hidden_size": 768,
        "enable_fusion": False,
    }
    return ClapConfig(text_config=text, audio_config=audio, projection_dim=512)


def save_random_clip(folder: str | Path, size: str = "tiny", seed: int = 0) -> Path:
    from transformers import CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    folder = Path(folder)
    vocab = _clip_vocab()
    torch.manual_seed(seed)
    model = CLIPModel(_clip_config(size, vocab)).eval()
    side = model.config.vision_config.image_size
    images = CLIPImageProcessor(
        size={"shortest_edge": side}, crop_size={"height": side, "width": side}
    )
    processor = CLIPProcessor(
        image_processor=images, tokenizer=CLIPTokenizer(vocab=vocab, merges=[])
    )
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    return folder


def save_random_clap(folder: str | Path, size: str = "tiny", seed: int = 0) -> Path:
    from transformers import ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    folder = Path(folder)
    vocab = _roberta_vocab()
    torch.manual_seed(seed)
    model = ClapModel(_clap_config(size, vocab)).eval()
    if size == "tiny":  # 1 s at 16 kHz, 51 frames: fits the 64 frames of the tiny model
        extractor = ClapFeatureExtractor(
            feature_size=16,
            sampling_rate=16000,
            hop_length=320,
            max_length_s=1,
            fft_window_size=512,
            frequency_max=8000,
            truncation="rand_trunc",
        )
    else:  # laion/clap-htsat-unfused's preprocessing
        extractor = ClapFeatureExtractor(
            feature_size=64,
            sampling_rate=48000,
            hop_length=480,
            max_length_s=10,
            fft_window_size=1024,
            frequency_max=14000,
            truncation="rand_trunc",
        )
    processor = ClapProcessor(
        feature_extractor=extractor, tokenizer=RobertaTokenizer(vocab=vocab, merges=[])
    )
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    return folder


def save_random_clip_clap(
    folder: str | Path,
    size: str = "tiny",
    labels: list[str] | None = None,
    seed: int = 0,
    weights: dict[str, float] | None = None,
) -> Path:
    """A folder as a user would make it: clip/, clap/ and mmstudio.json."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}")
    folder = Path(folder)
    save_random_clip(folder / "clip", size, seed)
    save_random_clap(folder / "clap", size, seed + 1)
    settings = {
        "architecture": ARCHITECTURE,
        "labels": labels or ["dog", "cat", "car", "siren"],
        "weights": weights or {"image": 1.0, "text": 1.0, "audio": 1.0},
    }
    (folder / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return folder
