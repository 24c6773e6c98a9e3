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
    """Fail if load_checkpoint builds the real network or reads the weights' data."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("allocated before the checks were done")

    monkeypatch.setattr(checkpoint_module, "FusionNet", refuse)
    monkeypatch.setattr(checkpoint_module, "load_file", refuse)


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
