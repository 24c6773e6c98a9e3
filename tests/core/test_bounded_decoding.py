"""The pieces behind bounded decoding: chunked resampling equals the one-shot resampler, header
claims are read as written, and the heatmap PNGs are written whole or not at all."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio.functional
from PIL import Image

from mmstudio.explain import render
from mmstudio.inputs import resample as resampling
from mmstudio.inputs.headers import id3_tag_bytes, wav_claimed_frames
from mmstudio.result import Analysis, NonFiniteAnalysisError
from tests.badinput.files import wav_header


@pytest.mark.parametrize(
    "rate, target, length",
    [
        (44_100, 16_000, 50_001),
        (384_000, 16_000, 120_007),
        (8000, 16_000, 33_333),
        (48_000, 16_000, 5),
    ],
)
def test_chunked_resampling_equals_the_one_shot_result(monkeypatch, rate, target, length):
    monkeypatch.setattr(resampling, "_CHUNK_SAMPLES", 4096)  # many chunk boundaries
    signal = np.random.default_rng(0).standard_normal(length).astype(np.float32)
    chunked, note = resampling.resample_noting(signal, rate, target)
    whole = torchaudio.functional.resample(torch.from_numpy(signal), rate, target).numpy()
    assert note is None
    assert chunked.shape == whole.shape
    np.testing.assert_allclose(chunked, whole, atol=2e-6)


def test_a_rate_with_a_huge_kernel_is_rounded_with_a_note():
    # 44,101 and 16,000 share no factor: torchaudio's kernel would hold 706 million entries.
    assert resampling._kernel_entries(44_101, 16_000) > 700_000_000
    out, note = resampling.resample_noting(np.ones(44_100, dtype=np.float32), 44_101, 16_000)
    assert len(out) == 16_000
    assert "44,101 Hz was treated as 44,100 Hz" in note


def test_wav_claims_are_read_from_the_header():
    assert wav_claimed_frames(wav_header(16000, 2, 16, 4 * 1000) + bytes(10)) == 1000
    assert wav_claimed_frames(wav_header(16000, 1, 16, 0xFFFFFFFF)) is None  # streamed
    assert wav_claimed_frames(b"RIFF\x00\x00\x00\x00WAVEdata") is None
    assert wav_claimed_frames(b"not a wav at all") is None


def test_id3_tags_are_measured_by_their_synchsafe_size():
    assert id3_tag_bytes(b"ID3\x04\x00\x00\x00\x00\x02\x01" + bytes(300)) == 10 + 257
    assert id3_tag_bytes(b"ID3\x04\x00\x10\x00\x00\x00\x05") == 10 + 5 + 10  # with a footer
    assert id3_tag_bytes(b"ID3\x04\x00\x00\x80\x00\x00\x00") == 0  # not synchsafe
    assert id3_tag_bytes(b"\xff\xfb\x90\x64") == 0


def _analysis(**extra) -> Analysis:
    return Analysis(
        labels=["a", "b"],
        probabilities=np.array([0.25, 0.75], dtype=np.float32),
        predicted_index=1,
        modalities=["image"],
        present=["image"],
        fusion_weights={},
        fusion_weights_kind="",
        shapley={"image": 0.1},
        shapley_base=-1.0,
        full_score=-0.9,
        **extra,
    )


def test_a_failed_png_write_leaves_neither_a_half_file_nor_a_temporary(tmp_path, monkeypatch):
    folder = tmp_path / "maps"
    folder.mkdir()
    (folder / "image_heatmap.png").write_bytes(b"the previous run's picture")
    analysis = _analysis(image_heatmap=np.ones((8, 8), dtype=np.float32))
    real_save = Image.Image.save

    def disk_full(self, fp, *args, **kwargs):
        real_save(self, fp, *args, **kwargs)
        fp.truncate(fp.tell() // 2)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        render.write_heatmap_pngs(analysis, _sample(), folder)
    assert [p.name for p in folder.iterdir()] == ["image_heatmap.png"]
    assert (folder / "image_heatmap.png").read_bytes() == b"the previous run's picture"


def test_heatmap_pngs_are_written_whole(tmp_path):
    analysis = _analysis(image_heatmap=np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8))
    written = render.write_heatmap_pngs(analysis, _sample(), tmp_path / "maps")
    assert [p.name for p in written] == ["image_heatmap.png"]
    with Image.open(written[0]) as picture:
        assert picture.size == (16, 16)
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["image_heatmap.png"]


def _sample():
    from mmstudio.inputs import Sample

    return Sample(image=Image.new("RGB", (16, 16), "white"))


def test_the_json_heatmap_is_bounded_and_full_only_when_asked():
    analysis = _analysis(image_heatmap=np.random.default_rng(0).random((1000, 600), np.float32))
    small = analysis.to_dict()["image_heatmap"]
    full = analysis.to_dict(full_heatmaps=True)["image_heatmap"]
    assert (len(small), len(small[0])) == (256, 154)
    assert (len(full), len(full[0])) == (1000, 600)
    # Area-averaged, so the shrunk map keeps the original's mean.
    assert np.mean(small) == pytest.approx(np.mean(full), abs=1e-3)


def test_json_never_carries_nan():
    analysis = _analysis()
    analysis.probabilities = np.array([np.nan, 1.0], dtype=np.float32)
    with pytest.raises(NonFiniteAnalysisError):
        analysis.to_json()
