"""The zero-shot CLIP + CLAP backend on tiny random models saved to disk and loaded the way a
user's folder is: no network, ever."""

from __future__ import annotations

import json
import math
import socket

import numpy as np
import pytest
from PIL import Image

from mmstudio.analysis import Analyzer
from mmstudio.inputs.errors import InputError
from mmstudio.inputs.sample import AudioClip, Sample
from mmstudio.models import registry
from mmstudio.models.zeroshot import (
    ClipClapModel,
    is_clip_clap_folder,
    is_clip_clap_source,
    load_clip_clap,
    parse_labels,
)
from mmstudio.models.zeroshot.entry import clip_clap_entry
from mmstudio.models.zeroshot.sources import default_weights_problem
from tests.conftest import requires_gpu
from tests.fixtures.random_clip_clap import save_random_clip_clap

LABELS = ["dog", "cat", "car", "siren"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_random_clip_clap(
        tmp_path_factory.mktemp("zero-shot") / "clip-clap-tiny", labels=LABELS
    )


@pytest.fixture(scope="module")
def model(folder):
    with pytest.MonkeyPatch.context() as patch:  # a user's folder loads without the network
        patch.setattr(socket.socket, "connect", _refuse_network)
        patch.setattr(socket, "getaddrinfo", _refuse_network)
        return load_clip_clap(folder, "cpu")


def _refuse_network(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args!r}")


def make_sample(
    seconds: float = 0.8, size: tuple[int, int] = (90, 120), text: str | None = "a red car"
) -> Sample:
    rng = np.random.default_rng(7)
    image = Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype("uint8"))
    audio = AudioClip((rng.standard_normal(int(16000 * seconds)) * 0.1).astype("float32"), 16000)
    return Sample(image=image, text=text, audio=audio)


def test_folder_is_recognised_and_loads_with_its_settings(folder, model):
    assert is_clip_clap_folder(folder) and is_clip_clap_source(str(folder))
    assert not is_clip_clap_folder(folder / "missing")
    assert model.labels == LABELS and model.modalities == ("image", "text", "audio")
    assert model.name == "clip-clap-tiny"
    assert not any(p.requires_grad for p in model.parameters())


def test_full_analysis(model):
    sample = make_sample()
    analysis = Analyzer(model, "cpu").analyze(sample)
    assert analysis.labels == LABELS and analysis.present == ["image", "text", "audio"]
    assert analysis.probabilities.shape == (4,)
    assert analysis.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert analysis.shapley_base == pytest.approx(
        math.log(1 / 4), abs=1e-6
    )  # nothing known: uniform
    assert analysis.shapley_base + sum(analysis.shapley.values()) == pytest.approx(
        analysis.full_score, abs=1e-5
    )
    assert analysis.fusion_weights == pytest.approx({"image": 1 / 3, "text": 1 / 3, "audio": 1 / 3})
    assert analysis.fusion_weights_kind == "log-linear pool weight"

    assert analysis.image_heatmap.shape == (120, 90)  # (H, W) of the original image
    assert 0.0 <= analysis.image_heatmap.min() and analysis.image_heatmap.max() == pytest.approx(
        1.0
    )
    # The processor crops the tall image to its central square: the model never saw the top
    # and bottom 15 rows, and the map says so.
    assert not analysis.image_heatmap[:14].any() and not analysis.image_heatmap[-14:].any()
    assert analysis.image_heatmap[16:-16].min() > 0

    assert analysis.tokens == [
        "a",
        "r",
        "e",
        "d",
        "c",
        "a",
        "r",
    ]  # the tiny vocabulary spells words out
    # Gradient x input keeps its sign: largest magnitude 1, evidence against negative.
    assert analysis.signed_maps == ["text", "audio"]
    assert analysis.token_weights.shape == (7,)
    assert np.abs(analysis.token_weights).max() == pytest.approx(1.0)

    frames = int(0.8 * 16000) // 320 + 1
    assert analysis.spectrogram.shape == (16, frames) and analysis.audio_heatmap.shape == (
        16,
        frames,
    )
    assert analysis.spectrogram_hop_seconds == pytest.approx(0.02)
    assert np.abs(analysis.audio_heatmap).max() == pytest.approx(1.0)
    assert analysis.audio_heatmap.min() < 0 < analysis.audio_heatmap.max()


def test_fusion_is_the_product_of_the_modalities_opinions(model):
    """With weights 1 the log-linear pool multiplies the per-modality distributions."""
    sample = make_sample()
    analyzer = Analyzer(model, "cpu", explain=False)
    full, *single = analyzer.analyze_batch(
        [
            sample,
            sample.without("text", "audio"),
            sample.without("image", "audio"),
            sample.without("image", "text"),
        ]
    )
    product = np.prod([s.probabilities.astype(np.float64) for s in single], axis=0)
    np.testing.assert_allclose(full.probabilities, product / product.sum(), atol=1e-5)


def test_pool_weights_are_reported_and_a_zero_weight_mutes_a_modality(model):
    weighted = ClipClapModel(
        model.clip,
        model.clip_processor,
        model.clap,
        model.clap_processor,
        labels=LABELS,
        weights={"image": 2.0, "text": 0.0, "audio": 1.0},
    )
    analysis = Analyzer(weighted, "cpu", explain=False).analyze(make_sample())
    assert analysis.fusion_weights == pytest.approx({"image": 2 / 3, "text": 0.0, "audio": 1 / 3})
    assert analysis.shapley["text"] == pytest.approx(0.0, abs=1e-9)


def test_matches_the_transformers_zero_shot_pipelines(folder, model):
    from transformers import pipeline

    sample = make_sample(seconds=0.8)
    image_only = Analyzer(model, "cpu", explain=False).analyze(sample.without("text", "audio"))
    audio_only = Analyzer(model, "cpu", explain=False).analyze(sample.without("image", "text"))
    image_pipe = pipeline(
        "zero-shot-image-classification", model=str(folder / "clip"), device="cpu"
    )
    audio_pipe = pipeline(
        "zero-shot-audio-classification", model=str(folder / "clap"), device="cpu"
    )
    theirs_image = {
        r["label"]: r["score"] for r in image_pipe(sample.image, candidate_labels=LABELS)
    }
    theirs_audio = {
        r["label"]: r["score"] for r in audio_pipe(sample.audio.samples, candidate_labels=LABELS)
    }
    np.testing.assert_allclose(
        image_only.probabilities, [theirs_image[label] for label in LABELS], atol=1e-4
    )
    np.testing.assert_allclose(
        audio_only.probabilities, [theirs_audio[label] for label in LABELS], atol=1e-4
    )


def test_label_embeddings_are_cached_until_the_labels_change(model, monkeypatch):
    calls = {"clip": 0, "clap": 0}
    for tower in ("clip", "clap"):
        module = getattr(model, tower)
        original = module.get_text_features

        def counted(*args, _tower=tower, _original=original, **kwargs):
            calls[_tower] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, "get_text_features", counted)
    analyzer = Analyzer(model, "cpu", explain=False)
    sample = make_sample(text=None)
    try:
        model.set_labels("dog, cat, car, siren, bird")
        analyzer.analyze(sample)
        assert calls == {"clip": 1, "clap": 1}  # all labels in one batched call per tower
        analyzer.analyze(sample)
        assert calls == {"clip": 1, "clap": 1}
        model.set_labels(["rain", "thunder"])
        analysis = analyzer.analyze(sample)
        assert calls == {"clip": 2, "clap": 2}
        assert analysis.labels == ["rain", "thunder"] and analysis.probabilities.shape == (2,)
    finally:
        model.set_labels(LABELS)


def test_a_long_text_is_cut_to_the_text_tower_limit_with_a_note(model):
    analysis = Analyzer(model, "cpu", explain=False).analyze(Sample(text="siren " * 40))
    assert any("cut to 77 tokens" in note for note in analysis.notes)
    assert len(analysis.tokens) == 75  # 77 positions less the start and end markers


def test_image_region_follows_the_processors_resize_and_crop():
    from types import SimpleNamespace

    from mmstudio.models.zeroshot.batch import image_region

    def processor(size, crop=None):
        return SimpleNamespace(
            do_resize=True, size=size, do_center_crop=crop is not None, crop_size=crop
        )

    cropped = image_region(
        (640, 480), processor({"shortest_edge": 224}, {"height": 224, "width": 224})
    )
    assert cropped.source == pytest.approx((80, 0, 480, 480)) and cropped.target == pytest.approx(
        (0, 0, 1, 1)
    )
    squashed = image_region((640, 480), processor({"height": 224, "width": 224}))
    assert squashed.source == pytest.approx((0, 0, 640, 480))
    padded = image_region(
        (400, 300), processor({"shortest_edge": 100}, {"height": 224, "width": 224})
    )
    assert padded.source == pytest.approx((0, 0, 400, 300))
    assert padded.target == pytest.approx(
        ((1 - 400 / 3 / 224) / 2, (1 - 100 / 224) / 2, 400 / 3 / 224, 100 / 224)
    )


def test_labels_are_parsed_as_typed():
    assert parse_labels(" dog, cat ,,dog\nsea   lion ") == ["dog", "cat", "sea lion"]
    with pytest.raises(InputError, match="at least two"):
        parse_labels("dog")


def test_long_audio_keeps_the_loudest_window_and_says_so(model):
    clip = np.zeros(16000 * 3, dtype=np.float32)
    clip[20000:30000] = np.sin(np.arange(10000) * 0.3).astype(np.float32)
    first = Analyzer(model, "cpu").analyze(Sample(audio=AudioClip(clip, 16000)))
    second = Analyzer(model, "cpu").analyze(Sample(audio=AudioClip(clip, 16000)))
    assert any("loudest 1 s" in note for note in first.notes)
    np.testing.assert_array_equal(first.probabilities, second.probabilities)  # no random crop
    assert first.spectrogram.shape == (16, 51)


def test_a_clip_only_folder_sees_and_reads_but_refuses_audio(folder):
    just_clip = folder / "clip"  # a plain CLIP save_pretrained folder
    assert is_clip_clap_folder(just_clip)
    model = load_clip_clap(just_clip, labels="dog, cat")
    analysis = Analyzer(model, "cpu").analyze(make_sample().without("audio"))
    assert analysis.present == ["image", "text"] and analysis.probabilities.shape == (2,)
    with pytest.raises(InputError, match="no CLAP weights"):
        Analyzer(model, "cpu").analyze(make_sample())


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to reach the network fails the test: DNS look-ups and connections alike."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        _refuse_network(*args)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.mark.parametrize(
    "name", ["clip-clap", "openai/clip-vit-base-patch32+laion/clap-htsat-unfused"]
)
def test_missing_weights_give_a_clear_error_and_no_network_attempt(tmp_path, no_network, name):
    empty_cache = tmp_path / "empty-cache"
    empty_cache.mkdir()
    with pytest.raises(InputError) as caught:
        load_clip_clap(name, cache_dir=empty_cache)
    message = str(caught.value)
    assert "openai/clip-vit-base-patch32" in message and str(empty_cache) in message
    assert "--allow-download" in message and "save_pretrained" in message
    assert no_network == []


def _fake_hub_cache(cache, repo_id: str, folder) -> None:
    """The Hugging Face cache layout: refs/main names a snapshot holding the files."""
    import shutil

    commit = "0" * 40
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(folder, repo / "snapshots" / commit)


def test_cached_models_load_by_id_without_any_network_attempt(tmp_path, folder, no_network):
    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "openai/clip-vit-base-patch32", folder / "clip")
    _fake_hub_cache(cache, "laion/clap-htsat-unfused", folder / "clap")
    assert default_weights_problem(cache) == ""
    model = load_clip_clap("clip-clap", cache_dir=cache, labels="dog, cat")
    analysis = Analyzer(model, "cpu", explain=False).analyze(make_sample())
    assert analysis.present == ["image", "text", "audio"] and analysis.labels == ["dog", "cat"]
    assert no_network == []


def test_the_builtin_entry_is_listed_as_unavailable_without_weights(
    tmp_path, no_network, monkeypatch
):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert "not in the Hugging Face cache" in default_weights_problem()
    entry = clip_clap_entry()
    assert not entry.available and "--allow-download" in entry.problem
    assert no_network == []


def test_pickle_only_and_broken_folders_are_refused(tmp_path, folder):
    pickled = tmp_path / "pickled"
    (pickled / "clip").mkdir(parents=True)
    (pickled / "clip" / "config.json").write_text((folder / "clip" / "config.json").read_text())
    (pickled / "clip" / "pytorch_model.bin").write_bytes(b"not really")
    with pytest.raises(InputError, match="pickle"):
        load_clip_clap(pickled)
    broken = tmp_path / "broken"
    broken.mkdir()
    settings = {"architecture": "clip-clap", "clip": str(folder / "clip"), "weights": {"smell": 1}}
    (broken / "mmstudio.json").write_text(json.dumps(settings))
    assert is_clip_clap_folder(broken)
    with pytest.raises(InputError, match="'weights' must map"):
        load_clip_clap(broken)
    (broken / "mmstudio.json").write_text("{not json")
    assert is_clip_clap_folder(broken)  # ours, so loading it can say what is wrong
    with pytest.raises(InputError, match="could not be read as JSON"):
        load_clip_clap(broken)
    assert not is_clip_clap_folder(tmp_path)  # an empty folder is not ours


def test_registry_opens_the_folder_by_path(folder):
    model = registry.get_model(str(folder), "cpu")
    assert isinstance(model, ClipClapModel) and model.labels == LABELS


@requires_gpu
def test_half_precision_on_a_gpu_agrees_with_the_cpu(folder, model):
    sample = make_sample()
    on_cpu = Analyzer(model, "cpu").analyze(sample)
    on_gpu = Analyzer(load_clip_clap(folder, "cuda"), "cuda").analyze(sample)
    np.testing.assert_allclose(on_gpu.probabilities, on_cpu.probabilities, atol=0.05)
    assert on_gpu.image_heatmap.shape == on_cpu.image_heatmap.shape
    assert on_gpu.audio_heatmap.shape == on_cpu.audio_heatmap.shape
    assert on_gpu.shapley_base + sum(on_gpu.shapley.values()) == pytest.approx(
        on_gpu.full_score, abs=1e-4
    )
