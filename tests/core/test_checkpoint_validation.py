"""Checkpoint folders are judged before the network is allocated.

The corpus (tests/badinput/cases_models.py) checks every message; these tests check the order:
a config whose network would not fit, or does not match the weights, never gets as far as
building the real network or reading the weights' data.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import require_module

require_module("torch")

from mmstudio.inputs.errors import InputError  # noqa: E402
from mmstudio.models import checkpoint as checkpoint_module  # noqa: E402
from mmstudio.models.config import FusionConfig  # noqa: E402
from mmstudio.models.validation import (  # noqa: E402
    MAX_PARAMETERS,
    check_size,
    estimated_activations,
    meta_network,
)
from tests.badinput.cases_models import checkpoint  # noqa: E402


@pytest.fixture
def no_real_network(monkeypatch):
    """Fail if load_checkpoint reads the weights' data or gives the network real tensors."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("allocated before the checks were done")

    monkeypatch.setattr(checkpoint_module, "load_file", refuse)
    monkeypatch.setattr(checkpoint_module, "_materialize", refuse)


def _edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dim": 5120}, "'dim' is 5120 in config.json but 16 in the weights"),
        ({"dim": 8192, "fusion_heads": 2}, "'dim' is 8192"),
        ({"labels": [str(i) for i in range(12)]}, "too many labels"),
        ({"fusion": "tensor"}, "check 'fusion'"),
        ({"audio_max_seconds": 120, "audio_hop": 1}, "the weights do not match"),
    ],
)
def test_mismatches_are_found_without_allocating(tmp_path, no_real_network, changes, message):
    folder = checkpoint(tmp_path)
    (folder / "labels.txt").unlink()  # so that config.json's labels count
    _edit_config(folder, **changes)
    with pytest.raises(InputError, match=message):
        checkpoint_module.load_checkpoint(folder)


def test_a_matching_checkpoint_loads_once_checked(tmp_path):
    model = checkpoint_module.load_checkpoint(checkpoint(tmp_path, "renamed.pt"))
    assert model.labels == [str(i) for i in range(10)] and not model.training


def test_the_meta_network_has_the_real_networks_shapes():
    from mmstudio.models.fusionnet import FusionNet

    config = FusionConfig(labels=["a", "b", "c"], dim=32, fusion_heads=2, text_heads=2)
    real = {k: tuple(v.shape) for k, v in FusionNet(config).state_dict().items()}
    meta = meta_network(config)
    assert {k: tuple(v.shape) for k, v in meta.state_dict().items()} == real
    assert next(meta.parameters()).device.type == "meta"


@pytest.mark.parametrize(
    "config",
    [
        FusionConfig(labels=[str(i) for i in range(10)]),
        FusionConfig(labels=[str(i) for i in range(10)], image_encoder="resnet18", image_size=224),
        FusionConfig(labels=[str(i) for i in range(1000)], dim=512, fusion="tensor"),
    ],
    ids=["default", "resnet18 at 224 px", "1000 classes, dim 512, tensor fusion"],
)
def test_ordinary_networks_are_within_the_limits(config):
    check_size(config, meta_network(config))


def test_limits_name_what_made_the_network_big():
    wide = FusionConfig(labels=["a", "b"], dim=6144, text_layers=4)
    assert meta_network(wide).parameter_count() > MAX_PARAMETERS
    with pytest.raises(InputError, match="check dim 6144, text_layers 4"):
        check_size(wide, meta_network(wide))
    long = FusionConfig(
        labels=["a", "b"], audio_max_seconds=120, audio_hop=4, audio_n_fft=128, audio_n_mels=16
    )
    assert max(estimated_activations(long), key=estimated_activations(long).get) == (
        "spectrogram feature maps"
    )
    with pytest.raises(InputError, match="spectrogram feature maps.*audio_max_seconds 120"):
        check_size(long, meta_network(long))


def test_mel_bands_without_a_frequency_bin_are_refused():
    crowded = FusionConfig(labels=["a", "b"], audio_n_fft=64, audio_hop=32, audio_n_mels=32)
    with pytest.raises(InputError, match="'audio_n_mels' \\(32\\) is too many"):
        meta_network(crowded)


def _rewrite_weights(folder, change):
    from safetensors.torch import load_file, save_file

    weights = folder / "model.safetensors"
    save_file(change(load_file(str(weights))), str(weights))


def _without(name):
    return lambda state: {k: v for k, v in state.items() if k != name}


def _transposed(name):
    return lambda state: {**state, name: state[name].transpose(0, 1).contiguous()}


def _extra(state):
    import torch

    return {**state, "text_encoder.surplus.weight": torch.zeros(3, 4)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            _without("text_encoder.norm.bias"),
            "^model.safetensors: the weights do not match config.json: text_encoder.norm.bias "
            "is missing from the file$",
        ),
        (
            _extra,
            "^model.safetensors: the weights do not match config.json: the file holds "
            "text_encoder.surplus.weight, which config.json's network has no place for$",
        ),
        (
            _transposed("image_encoder.features.0.0.weight"),
            "^model.safetensors: the weights do not match config.json: "
            "image_encoder.features.0.0.weight is \\(3, 24, 3, 3\\) in the file but "
            "\\(24, 3, 3, 3\\) by config.json$",
        ),
    ],
    ids=["missing tensor", "extra tensor", "wrong shape"],
)
def test_the_header_check_refuses_a_wrong_weights_file_before_reading_it(
    tmp_path, no_real_network, change, message
):
    folder = checkpoint(tmp_path)
    _rewrite_weights(folder, change)
    with pytest.raises(InputError, match=message) as caught:
        checkpoint_module.load_checkpoint(folder)
    assert caught.value.source == str(folder / "model.safetensors")


@pytest.mark.parametrize("fusion", ["attention", "gated", "concat", "tensor", "late"])
def test_loaded_networks_compute_what_the_old_loader_built(tmp_path, fusion):
    """The network filled in from the meta device gives the logits, to the bit, of one built
    on the CPU with its initialisers run and the same weights copied in (the old loader)."""
    import torch
    from safetensors.torch import load_file

    from mmstudio.inputs import make_sample
    from mmstudio.models.fusionnet import FusionNet

    folder = checkpoint(tmp_path, fusion=fusion)
    loaded = checkpoint_module.load_checkpoint(folder)
    old = FusionNet(loaded.config)
    old.load_state_dict(load_file(str(folder / "model.safetensors")))
    old.eval()
    assert all(t.device.type == "cpu" for t in (*loaded.parameters(), *loaded.buffers()))
    assert all(p.requires_grad for p in loaded.parameters())
    assert loaded.training is False
    for name, tensor in old.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    sample = make_sample(
        image="resources/samples/digit_3.png",
        text="three",
        audio="resources/samples/three.wav",
    )
    with torch.no_grad():
        batch = old.preprocess([sample])
        assert torch.equal(loaded(batch).logits, old(batch).logits)


@pytest.mark.parametrize("fusion", ["attention", "gated", "concat", "tensor", "late"])
@pytest.mark.parametrize("encoder", ["cnn", "resnet18"])
def test_the_meta_network_has_every_strategys_real_shapes(fusion, encoder):
    from mmstudio.models.fusionnet import FusionNet

    config = FusionConfig(
        labels=["a", "b", "c"],
        fusion=fusion,
        image_encoder=encoder,
        dim=32,
        fusion_heads=2,
        text_heads=2,
        tensor_rank_dim=4,
    )
    real = FusionNet(config).state_dict()
    meta = meta_network(config).state_dict()
    assert {k: (v.shape, v.dtype) for k, v in meta.items()} == {
        k: (v.shape, v.dtype) for k, v in real.items()
    }


def test_the_meta_build_runs_no_initialiser():
    """Initialisers on the meta device import torch._dynamo (the cost this check removed):
    building the meta network must not, in a fresh interpreter. (torchvision, which the
    resnet18 encoder needs, imports it on its own, so the default encoder is checked.)"""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mmstudio.models.config import FusionConfig\n"
        "from mmstudio.models.validation import meta_network\n"
        "for fusion in ('attention', 'gated', 'concat', 'tensor', 'late'):\n"
        "    meta_network(FusionConfig(labels=['a', 'b'], fusion=fusion))\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert run.stdout.strip() == "False"


def test_skipping_initialisers_leaves_real_tensors_alone():
    import torch
    from torch import nn

    from mmstudio.models.meta_init import SkipMetaInit

    with SkipMetaInit():
        meta = torch.empty(4, 5, device="meta")
        assert nn.init.trunc_normal_(meta, std=0.02) is meta
        assert meta.normal_() is meta and meta.shape == (4, 5)
        real = torch.zeros(4, 5)
        nn.init.normal_(real)
        assert bool((real != 0).any())
        shaped = torch.empty(4, 5, device="meta").unsqueeze_(0).requires_grad_(True)
    assert shaped.shape == (1, 4, 5) and shaped.requires_grad
