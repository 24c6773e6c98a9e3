"""Bad-input corpus, class "models": checkpoint folders that are broken, absurd or merely odd.

Every case starts from one tiny random FusionNet saved with ``save_checkpoint`` (built once per
process) and changes one thing: a config.json field, labels.txt, the weights file or the folder
itself. Each runs as ``predict --model <folder> --text seven --json``.
"""

from __future__ import annotations

import functools
import json
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.badinput.case import Case

KLASS = "models"
TINY = {
    "dim": 16,
    "fusion_heads": 2,
    "text_heads": 2,
    "text_layers": 1,
    "image_size": 16,
    "audio_n_mels": 16,
    "tensor_rank_dim": 2,
}
DIGITS = [str(i) for i in range(10)]


@functools.cache
def _base_files(fusion: str = "attention", downsampling: str = "strided") -> dict[str, bytes]:
    """The files of one tiny random checkpoint, made once and copied into every case."""
    import torch

    from mmstudio.models import FusionConfig, FusionNet, save_checkpoint

    torch.manual_seed(0)
    config = FusionConfig(
        labels=DIGITS, fusion=fusion, conv_downsampling=downsampling, name="tiny", **TINY
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = save_checkpoint(FusionNet(config).eval(), Path(scratch) / "ckpt")
        return {path.name: path.read_bytes() for path in folder.iterdir()}


def checkpoint(folder: Path, name: str = "model", **base) -> Path:
    """A copy of the tiny checkpoint in ``folder/name``."""
    target = folder / name
    target.mkdir(parents=True)
    for file_name, data in _base_files(**base).items():
        (target / file_name).write_bytes(data)
    return target


def predict(model: Path | str) -> list[str]:
    return ["predict", "--model", str(model), "--text", "seven", "--json"]


def _config(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))


def _with_config(change: Callable[[dict[str, Any]], Any], keep_labels_file: bool = True):
    """A build that edits config.json; ``change`` edits the dict in place or returns a new value."""

    def build(folder: Path) -> list[str]:
        target = checkpoint(folder)
        config = _config(target)
        replaced = change(config)
        config = config if replaced is None else replaced
        (target / "config.json").write_text(json.dumps(config), encoding="utf-8")
        if not keep_labels_file:
            (target / "labels.txt").unlink()
        return predict(target)

    return build


def _field(name: str, value: Any, keep_labels_file: bool = True):
    return _with_config(lambda config: config.update({name: value}), keep_labels_file)


def _config_text(text: str | bytes):
    def build(folder: Path) -> list[str]:
        target = checkpoint(folder)
        path = target / "config.json"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return predict(target)

    return build


def _config_literal(name: str, literal: str):
    """A field set to a JSON extension Python reads (NaN, Infinity) that other readers refuse."""

    def build(folder: Path) -> list[str]:
        target = checkpoint(folder)
        config = _config(target)
        config[name] = "@@"
        text = json.dumps(config).replace('"@@"', literal)
        (target / "config.json").write_text(text, encoding="utf-8")
        return predict(target)

    return build


def _labels(data: bytes):
    def build(folder: Path) -> list[str]:
        target = checkpoint(folder)
        (target / "labels.txt").write_bytes(data)
        return predict(target)

    return build


def _lines(labels: list[str]) -> bytes:
    return ("\n".join(labels) + "\n").encode("utf-8")


def _with_weights(change: Callable[[dict], dict]):
    """A build that rewrites model.safetensors through safetensors itself, after ``change``."""

    def build(folder: Path) -> list[str]:
        from safetensors.torch import load_file, save_file

        target = checkpoint(folder)
        weights = target / "model.safetensors"
        save_file(change(load_file(str(weights))), str(weights))
        return predict(target)

    return build


def _poisoned(value: float):
    def change(state: dict) -> dict:
        name = sorted(key for key, tensor in state.items() if tensor.is_floating_point())[0]
        state[name] = state[name].clone()
        state[name].view(-1)[0] = value
        return state

    return change


def _scaled(factor: float):
    def change(state: dict) -> dict:
        return {k: v * factor if v.is_floating_point() else v for k, v in state.items()}

    return change


def _dropped(state: dict) -> dict:
    state.pop(sorted(state)[0])
    return state


def _extra(state: dict) -> dict:
    import torch

    state["fusion.unexpected"] = torch.zeros(3)
    return state


def _weights_bytes(make: Callable[[bytes], bytes]):
    def build(folder: Path) -> list[str]:
        target = checkpoint(folder)
        weights = target / "model.safetensors"
        weights.write_bytes(make(weights.read_bytes()))
        return predict(target)

    return build


def _huge_header(_: bytes) -> bytes:
    """A well-formed header whose one tensor claims 10^12 floats that the file does not hold."""
    header = json.dumps(
        {"t": {"dtype": "F32", "shape": [1_000_000, 1_000_000], "data_offsets": [0, 4 * 10**12]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + b"\0" * 16


def _header_length_lie(data: bytes) -> bytes:
    return struct.pack("<Q", 2**62) + data[8:]


def _pickle_bytes(_: bytes) -> bytes:
    import pickle

    return pickle.dumps({"weights": [1.0, 2.0]}, protocol=4)


def _only_file(name: str, data: bytes, give_file: bool = False):
    def build(folder: Path) -> list[str]:
        target = folder / "model"
        target.mkdir()
        (target / name).write_bytes(data)
        return predict(target / name if give_file else target)

    return build


def _without(file_name: str):
    def build(folder: Path) -> list[str]:
        target = checkpoint(folder)
        (target / file_name).unlink()
        return predict(target)

    return build


def _renamed(name: str, **base):
    def build(folder: Path) -> list[str]:
        return predict(checkpoint(folder, name, **base))

    return build


def _legacy_maxpool(folder: Path) -> list[str]:
    """A checkpoint from before conv_downsampling existed: the field is absent, max pooling."""
    target = checkpoint(folder, downsampling="maxpool")
    config = _config(target)
    del config["conv_downsampling"]
    (target / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return predict(target)


def _missing_folder(folder: Path) -> list[str]:
    return predict(folder / "no-such-model")


def _error(name: str, build, names: str) -> Case:
    return Case(name=name, klass=KLASS, build=build, expect="error", names=names)


def _accepted(name: str, build) -> Case:
    return Case(name=name, klass=KLASS, build=build, expect="accepted")


PICKLE = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94."

CASES: list[Case] = [
    # config.json is not a JSON object at all
    _error("config.json is a JSON array", _with_config(lambda c: [c]), "config.json"),
    _error("config.json is a JSON string", _with_config(lambda c: "fusionnet"), "config.json"),
    _error("config.json is null", _config_text("null"), "config.json"),
    _error("config.json is empty", _config_text(""), "config.json"),
    _error("config.json is cut off", _config_text('{"dim": 16, "labels": ['), "config.json"),
    _error("config.json is not UTF-8", _config_text(b'{"name": "\xff\xfe"}'), "config.json"),
    _error("config.json nests 100000 arrays", _config_text("[" * 100_000), "config.json"),
    _error("config.json is over 1 MB", _config_text(" " * 2_000_000 + "{}"), "config.json"),
    _error(
        "config.json has a 5000-digit number",
        _config_text('{"dim": ' + "9" * 5000 + "}"),
        "config.json",
    ),
    _error("config.json is missing", _without("config.json"), "config.json"),
    # absurd and ill-typed sizes
    _error("dim 10^9", _field("dim", 10**9), "dim"),
    _error("dim 32.0 (a float)", _field("dim", 32.0), "dim"),
    _error("dim as a string", _field("dim", "16"), "dim"),
    _error("dim true", _field("dim", True), "dim"),
    _error("dim negative", _field("dim", -16), "dim"),
    _error("dim zero", _field("dim", 0), "dim"),
    _error("dim 5120 against weights of dim 16", _field("dim", 5120), "dim"),
    _error("image size 10^6", _field("image_size", 10**6), "image_size"),
    _error("image size 4 (too small to downsample)", _field("image_size", 4), "image_size"),
    _error("audio seconds 10^7", _field("audio_max_seconds", 10**7), "audio_max_seconds"),
    _error("audio seconds NaN", _config_literal("audio_max_seconds", "NaN"), "audio_max_seconds"),
    _error("audio seconds zero", _field("audio_max_seconds", 0), "audio_max_seconds"),
    _error(
        "audio seconds 100 at hop 1 (a huge spectrogram)",
        _with_config(lambda c: c.update(audio_max_seconds=100, audio_hop=1)),
        "audio",
    ),
    _error("audio hop zero", _field("audio_hop", 0), "audio_hop"),
    _error("audio mels 10000", _field("audio_n_mels", 10_000), "audio_n_mels"),
    _error("audio mels above the FFT bins", _field("audio_n_fft", 16), "audio_n_mels"),
    _error("text vocabulary of 10", _field("text_vocab_size", 10), "text_vocab_size"),
    _error("text max tokens zero", _field("text_max_tokens", 0), "text_max_tokens"),
    _error("text layers 10^6", _field("text_layers", 10**6), "text_layers"),
    _error("fusion heads zero", _field("fusion_heads", 0), "fusion_heads"),
    _error("fusion heads not dividing dim", _field("fusion_heads", 3), "fusion_heads"),
    _error("text heads not dividing dim", _field("text_heads", 5), "text_heads"),
    _error("tensor rank 10^4", _field("tensor_rank_dim", 10_000), "tensor_rank_dim"),
    # names and other values
    _error("unknown fusion name", _field("fusion", "sum"), "fusion"),
    _error("fusion as a number", _field("fusion", 3), "fusion"),
    _error("another fusion than the weights", _field("fusion", "late"), "fusion"),
    _error("unknown image encoder", _field("image_encoder", "vit"), "image_encoder"),
    _error("unknown conv downsampling", _field("conv_downsampling", "avg"), "conv_downsampling"),
    _error("architecture bert", _field("architecture", "bert"), "architecture"),
    _error("temperature zero", _field("temperature", 0), "temperature"),
    _error("temperature NaN", _config_literal("temperature", "NaN"), "temperature"),
    _error("temperature Infinity", _config_literal("temperature", "Infinity"), "temperature"),
    _error("temperature negative", _field("temperature", -1.0), "temperature"),
    _error("temperature as a string", _field("temperature", "hot"), "temperature"),
    _error("dropout 1.5", _field("dropout", 1.5), "dropout"),
    _error("modality dropout negative", _field("modality_dropout", -0.1), "modality_dropout"),
    _error("extra is an array", _field("extra", []), "extra"),
    _error("name is a number", _field("name", 7), "name"),
    # labels, in config.json and in labels.txt
    _error("labels is a string", _field("labels", "0123456789", False), "labels"),
    _error(
        "labels missing everywhere",
        _with_config(lambda c: c.pop("labels") and None, False),
        "labels",
    ),
    _error("labels repeat in config.json", _field("labels", ["7"] * 10, False), "labels"),
    _error(
        "labels hold a number", _field("labels", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], False), "labels"
    ),
    _error("labels.txt has too few labels", _labels(_lines(DIGITS[:3])), "too few"),
    _error("labels.txt has too many labels", _labels(_lines(DIGITS + ["10", "11"])), "too many"),
    _error("config.json has too few labels", _field("labels", DIGITS[:4], False), "too few"),
    _error("labels.txt is not UTF-8", _labels(_lines(DIGITS[:9]) + b"\xe9\xff\n"), "labels.txt"),
    _error(
        "labels.txt repeats a label",
        _labels(_lines(["7" if d in "38" else d for d in DIGITS])),
        "labels.txt",
    ),
    _error("labels.txt is empty", _labels(b""), "labels.txt"),
    _error("labels.txt has one label", _labels(b"7\n"), "labels.txt"),
    # the weights file
    _error("a weight is NaN", _with_weights(_poisoned(float("nan"))), "model.safetensors"),
    _error("a weight is infinite", _with_weights(_poisoned(float("inf"))), "model.safetensors"),
    _error(
        "weights overflow float32 at run time",
        _with_weights(_scaled(1e30)),
        "weights are too large",
    ),
    _error("a tensor is missing", _with_weights(_dropped), "model.safetensors"),
    _error("an unexpected tensor", _with_weights(_extra), "model.safetensors"),
    _error(
        "weights cut off", _weights_bytes(lambda data: data[: len(data) // 2]), "model.safetensors"
    ),
    _error("weights file empty", _weights_bytes(lambda _: b""), "model.safetensors"),
    _error(
        "weights are random bytes",
        _weights_bytes(lambda data: bytes(reversed(data))),
        "model.safetensors",
    ),
    _error("weights header claims 10^12 floats", _weights_bytes(_huge_header), "model.safetensors"),
    _error("weights header length 2^62", _weights_bytes(_header_length_lie), "model.safetensors"),
    _error("weights file is a pickle", _weights_bytes(_pickle_bytes), "pickle"),
    _error("weights file missing", _without("model.safetensors"), "model.safetensors"),
    _error("folder holds only model.pt", _only_file("model.pt", PICKLE), "pickle"),
    _error("a .pth file given as the model", _only_file("weights.pth", PICKLE, True), "pickle"),
    _error(
        "a renamed pickle given as the model", _only_file("weights.dat", PICKLE, True), "pickle"
    ),
    _error("the model folder does not exist", _missing_folder, "no-such-model"),
    # odd but valid
    _accepted("the tiny checkpoint itself", _renamed("model")),
    _accepted("a safetensors folder named model.pt", _renamed("model.pt")),
    _accepted("a folder named with spaces and accents", _renamed("mödel dïr")),
    _accepted("concat fusion", _renamed("model", fusion="concat")),
    _accepted("a legacy config without conv_downsampling", _legacy_maxpool),
    _accepted("config.json with an unknown field", _field("added_in_a_later_version", 1)),
    _accepted("a whole-number temperature", _field("temperature", 2)),
    _accepted("labels only in config.json", _without("labels.txt")),
    _accepted(
        "labels.txt with a BOM, CRLF and blank lines",
        _labels(b"\xef\xbb\xbf" + b"\r\n".join(d.encode() for d in DIGITS) + b"\r\n\r\n"),
    ),
]
