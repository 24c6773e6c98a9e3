import glob
import json
import sys

import pytest
import torch

from mmstudio import MODALITIES
from mmstudio.analysis import Analyzer
from mmstudio.inputs.errors import InputError
from mmstudio.models import (
    FUSION_STRATEGIES,
    FusionConfig,
    FusionNet,
    load_checkpoint,
    save_checkpoint,
)
from mmstudio.models.device import pick_device
from mmstudio.models.tokenizer import CharTokenizer
from tests.core.helpers import DIGIT_LABELS, random_sample, tiny_model


@pytest.mark.parametrize("fusion", FUSION_STRATEGIES)
def test_every_strategy_gives_logits_and_weights_for_every_coalition(fusion):
    model = tiny_model(fusion)
    batch = model.preprocess([random_sample(0), random_sample(1)])
    with torch.no_grad():
        encoded = model.encode(batch)
        presence = torch.tensor(
            [[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)], dtype=torch.bool
        )
        output = model.fuse(encoded, presence.expand(2, -1, -1))
    assert output.logits.shape == (2, 8, 10)
    assert torch.isfinite(output.logits).all()
    assert torch.allclose(output.modality_weights.sum(-1), torch.ones(2, 8), atol=1e-5)


@pytest.mark.parametrize("fusion", FUSION_STRATEGIES)
def test_absent_modality_is_replaced_by_its_learned_embedding(fusion):
    """A sample without audio must give the same logits as the full sample with audio switched off."""
    model = tiny_model(fusion)
    full = random_sample(3)
    with torch.no_grad():
        no_audio = model.fuse(
            model.encode(model.preprocess([full.without("audio")])),
            torch.ones(1, 1, 3, dtype=torch.bool),
        )
        masked = model.fuse(
            model.encode(model.preprocess([full])), torch.tensor([[[True, True, False]]])
        )
    assert torch.allclose(no_audio.logits, masked.logits, atol=1e-5)


def test_modality_dropout_only_in_training():
    model = tiny_model("concat", modality_dropout=0.9)
    batch = model.preprocess([random_sample(i) for i in range(8)])
    with torch.no_grad():
        first, second = model(batch).logits, model(batch).logits
        assert torch.allclose(first, second)
        model.train()
        torch.manual_seed(1)
        dropped = model(batch).logits
    assert not torch.allclose(first, dropped)


def test_tokenizer_copes_with_any_unicode():
    tokenizer = CharTokenizer(vocab_size=512, max_tokens=16)
    tokens, ids = tokenizer.encode("七 семь ７ 🎵\u0301 SEVEN")
    assert tokens[0] == "七" and "7" in tokens and "s" in tokens
    assert all(0 < i < 512 for i in ids)
    assert len(tokenizer.encode("x" * 100)[1]) == 16


def test_checkpoint_round_trip(tmp_path):
    model = tiny_model("gated")
    save_checkpoint(model, tmp_path / "ckpt", metrics={"accuracy": 0.5})
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [
        "config.json",
        "labels.txt",
        "metrics.json",
        "model.safetensors",
    ]
    loaded = load_checkpoint(tmp_path / "ckpt")
    assert loaded.config == model.config
    for (name, a), (_, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert (
        json.loads((tmp_path / "ckpt" / "config.json").read_text())["architecture"] == "fusionnet"
    )


@pytest.mark.parametrize("name", ["model.pt", "weights.pth", "pytorch_model.bin"])
def test_pickle_checkpoints_are_refused_with_a_reason(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(
        InputError, match="pickle checkpoints .* refused: loading one runs whatever code"
    ):
        load_checkpoint(tmp_path / name)
    with pytest.raises(InputError, match="refused"):
        load_checkpoint(tmp_path)  # a folder holding only a pickle


def test_broken_checkpoints_say_what_is_wrong(tmp_path):
    save_checkpoint(tiny_model(), tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(InputError, match="could not be read"):
        load_checkpoint(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        load_checkpoint(tmp_path / "missing")
    save_checkpoint(tiny_model(dim=48, fusion_heads=2, text_heads=2), tmp_path / "other")
    config = json.loads((tmp_path / "other" / "config.json").read_text())
    config["dim"] = 32
    (tmp_path / "other" / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="do not match"):
        load_checkpoint(tmp_path / "other")


def test_config_rejects_unknown_strategy():
    with pytest.raises(ValueError, match="'fusion' is 'sum'; choose one of"):
        FusionConfig(labels=DIGIT_LABELS, fusion="sum")


def test_device_choice():
    assert pick_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            pick_device("cuda")
    with pytest.raises(InputError, match="not a device name"):
        pick_device("toaster")


def test_resnet_image_encoder_for_larger_images():
    model = tiny_model("concat", image_encoder="resnet18", image_size=96)
    with torch.no_grad():
        encoded = model.encode(model.preprocess([random_sample(0)]))
    assert encoded.modalities["image"].grid == (3, 3)


def test_auto_picks_this_machines_device():
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    expected = "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    assert pick_device(None).type == pick_device("auto").type == expected
    # Told apart from torch's own answer: a Linux machine without an NVIDIA device node has no
    # GPU to offer, so the model must land on the CPU.
    if sys.platform.startswith("linux") and not glob.glob("/dev/nvidia[0-9]*"):
        assert pick_device(None).type == "cpu"


def test_the_encoders_produce_tokens_for_exactly_the_listed_modalities():
    model = tiny_model("attention")
    assert isinstance(model, FusionNet)
    batch = model.preprocess([random_sample(0), random_sample(1)])
    with torch.no_grad():
        encoded = model.encode(batch)
    assert tuple(encoded.modalities) == model.modalities == MODALITIES
    for name, encoding in encoded.modalities.items():
        assert encoding.tokens.shape[0] == 2 and encoding.tokens.shape[1] > 0, name
    assert batch.present.shape == (2, len(model.modalities))
    # The analysis names the same modalities, in the same order, as its Shapley columns.
    analysis = Analyzer(model, "cpu", explain=False).analyze(random_sample(0))
    assert analysis.modalities == list(MODALITIES) == list(analysis.shapley)
