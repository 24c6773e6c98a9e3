"""Encoder architecture choices and the training-only spectrogram augmentation."""

import json

import numpy as np
import pytest
import torch

from mmstudio.models import FusionConfig, load_checkpoint, save_checkpoint
from mmstudio.models.augment import NORMALIZED_FLOOR, SpectrogramAugment, equalize, warp_frequency
from mmstudio.models.encoders import AudioEncoder
from tests.core.helpers import DIGIT_LABELS, random_sample, tiny_model


@pytest.mark.parametrize("downsampling", ["strided", "maxpool"])
@pytest.mark.parametrize("image_size", [64, 60])
def test_both_downsamplings_give_token_grids_that_fit_their_positions(downsampling, image_size):
    model = tiny_model(conv_downsampling=downsampling, image_size=image_size)
    batch = model.preprocess([random_sample(0, seconds=1.5), random_sample(1, seconds=0.4)])
    with torch.no_grad():
        encoded = model.encode(batch)
        logits = model(batch).logits
    rows, cols = encoded.modalities["image"].grid
    assert rows * cols <= model.image_encoder.position.shape[1]
    bands, _ = encoded.modalities["audio"].grid
    assert bands == model.audio_encoder.band_position.shape[1]
    assert torch.isfinite(logits).all()


def test_strided_downsampling_has_no_pooling_layers():
    strided, pooled = (
        tiny_model(conv_downsampling="strided"),
        tiny_model(conv_downsampling="maxpool"),
    )
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in strided.modules())
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in pooled.modules()) == 6


def test_checkpoints_from_before_the_downsampling_choice_load_as_maxpool(tmp_path):
    old = tiny_model(conv_downsampling="maxpool")
    folder = save_checkpoint(old, tmp_path / "old")
    config = json.loads((folder / "config.json").read_text())
    del config["conv_downsampling"]  # what checkpoints written before the field look like
    (folder / "config.json").write_text(json.dumps(config))
    loaded = load_checkpoint(folder)
    assert loaded.config.conv_downsampling == "maxpool"
    batch = old.preprocess([random_sample(2)])
    with torch.no_grad():
        assert torch.allclose(loaded(batch).logits, old(batch).logits, atol=1e-6)


def test_new_configs_default_to_strided_and_reject_unknown_choices():
    assert FusionConfig(labels=DIGIT_LABELS).conv_downsampling == "strided"
    with pytest.raises(ValueError, match="'conv_downsampling' is 'avgpool'"):
        FusionConfig(labels=DIGIT_LABELS, conv_downsampling="avgpool")


def _spectrogram(batch: int = 4) -> torch.Tensor:
    torch.manual_seed(0)
    # Normalised log-mel maps: peak at 2, floor at -2, like LogMelFrontend.normalize.
    maps = torch.rand(batch, 32, 50) * 4.0 - 2.0
    maps[:, 5, 10] = 2.0
    return maps


def test_spectrogram_augmentation_only_in_training():
    augment = SpectrogramAugment(freq_mask=8, time_mask=10, freq_warp=0.1, eq_db=10.0)
    maps = _spectrogram()
    assert torch.equal(augment.eval()(maps), maps)
    changed = augment.train()(maps)
    assert changed.shape == maps.shape and not torch.allclose(changed, maps)
    assert changed.min() >= NORMALIZED_FLOOR - 1e-6 and changed.max() <= 2.0 + 1e-6


def test_training_mode_changes_audio_logits_but_evaluation_is_repeatable():
    model = tiny_model(modality_dropout=0.0, dropout=0.0)
    batch = model.preprocess([random_sample(4).without("image").without("text")])
    with torch.no_grad():
        first, second = model(batch).logits, model(batch).logits
        model.train()
        torch.manual_seed(3)
        augmented = model(batch).logits
    assert torch.equal(first, second)
    assert not torch.allclose(first, augmented)


def test_frequency_warp_keeps_the_lowest_band_and_moves_the_rest():
    maps = torch.linspace(-2.0, 2.0, 32)[None, None, :, None].expand(3, 1, 32, 20).contiguous()
    torch.manual_seed(1)
    warped = warp_frequency(maps, 0.2)
    assert torch.allclose(warped[:, :, 0], maps[:, :, 0], atol=1e-5)
    assert not torch.allclose(warped, maps)


def test_equalizer_re_references_every_map_to_its_new_peak():
    torch.manual_seed(2)
    out = equalize(_spectrogram().unsqueeze(1), max_db=12.0)
    assert torch.allclose(out.amax(dim=(-2, -1)), torch.full((4, 1), 2.0))
    assert out.min() >= NORMALIZED_FLOOR


class FourStepAudioEncoder(AudioEncoder):
    """Halves its map twice, not three times: each time step covers 4 frames, not 8."""

    channels = (1, 16, 32)


@pytest.mark.parametrize(
    ("downsampling", "encoder", "frames_per_step"),
    [
        ("strided", AudioEncoder, 8),
        ("maxpool", AudioEncoder, 8),
        ("strided", FourStepAudioEncoder, 4),
    ],
)
def test_the_audio_attention_map_lines_up_with_the_frames_each_time_step_covers(
    downsampling, encoder, frames_per_step
):
    from mmstudio.explain.heatmaps import attention_heatmaps

    model = tiny_model(conv_downsampling=downsampling)
    model.audio_encoder = encoder(model.config).eval()
    batch = model.preprocess([random_sample(0, seconds=1.5)])  # the longest clip: 151 frames
    with torch.no_grad():
        encoded = model.encode(batch)
        output = model.fuse(encoded, torch.ones(1, 1, 3, dtype=torch.bool))
    audio = encoded.modalities["audio"]
    bands, steps = audio.grid
    frames = int(encoded.spectrogram_frames[0])
    assert audio.frames_per_step == frames_per_step
    # A pooling encoder drops the frames past its last whole step; a strided one pads them.
    covered = steps * frames_per_step
    whole, rounded_up = frames // frames_per_step, -(-frames // frames_per_step)
    assert steps == (whole if downsampling == "maxpool" else rounded_up)

    # Put all of the fusion's attention on time step 5 of the audio grid, in every band.
    hot = 5
    start, _ = output.attention_spans["audio"]
    attention = torch.zeros_like(output.attention)
    attention[0, 0, [start + 1 + band * steps + hot for band in range(bands)]] = 1.0
    output.attention = attention
    (maps,) = attention_heatmaps(batch, encoded, output, coalition=0)

    assert maps.audio.shape == (encoded.spectrogram.shape[1], frames)
    lit = np.flatnonzero(maps.audio.mean(0) > 0.5)
    assert lit.tolist() == list(range(hot * frames_per_step, (hot + 1) * frames_per_step))
    assert maps.audio[:, covered:].max(initial=0.0) == 0.0  # frames no step saw
    assert (covered < frames) == (downsampling == "maxpool")
