"""The Analysis's numbers keep the precision they were computed in through every round trip."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from mmstudio.analysis import Analyzer
from mmstudio.datasets.task_layout import layout_for
from mmstudio.inputs.errors import InputError
from mmstudio.inputs.sample import AudioClip, Sample
from mmstudio.result import Analysis
from mmstudio.training.manifest import Record
from tests.core.helpers import bf16_autocast_model, random_sample, tiny_model


def _efficiency_gap(analysis: Analysis) -> float:
    """|base + sum of Shapley - full|, and the same against the coalition values themselves."""
    values = analysis.coalition_values
    total = sum(analysis.shapley.values())
    return max(
        abs(analysis.shapley_base + total - analysis.full_score),
        abs(total - (values[-1] - values[0])),
    )


def test_coalition_values_stay_float64_through_json_and_efficiency_holds():
    analysis = Analyzer(tiny_model(), "cpu").analyze(random_sample(3))
    assert analysis.coalition_values.dtype == np.float64
    restored = Analysis.from_dict(json.loads(analysis.to_json()))
    assert restored.coalition_values.dtype == np.float64
    # Bit for bit: float32 would round each value at about 1e-7 relative.
    assert restored.coalition_values.tobytes() == analysis.coalition_values.tobytes()
    assert restored.shapley == analysis.shapley
    assert _efficiency_gap(restored) < 1e-12
    assert restored.shapley_base == restored.coalition_values[0]
    assert restored.full_score == restored.coalition_values[-1]


def test_coalition_values_stay_float64_through_parquet(tmp_path):
    analyzer = Analyzer(tiny_model(), "cpu")
    analysis = analyzer.analyze(random_sample(5))
    record = Record(id="r0", label="7", text="seven")
    layout = layout_for(analyzer, [record])
    pq.write_table(layout.table([record], [analysis]), tmp_path / "rows.parquet")
    table = pq.read_table(tmp_path / "rows.parquet")
    column = table.column("coalition_values")
    assert str(column.type.value_type) == "double"
    values = np.asarray(column.to_pylist()[0], dtype=np.float64)
    assert values.tobytes() == analysis.coalition_values.tobytes()
    shapley = sum(table.column(f"shapley_{m}")[0].as_py() for m in analysis.present)
    assert abs(shapley - (values[-1] - values[0])) < 1e-12


# --- what made a score NaN: the input, the weights, or the arithmetic -------------------------


def _refusal(analyzer: Analyzer, sample: Sample) -> str:
    with pytest.raises(InputError) as caught:
        analyzer.analyze(sample)
    message = str(caught.value)
    assert message.startswith("the model 'fusionnet' produced infinite or NaN scores")
    assert "too large for float32" not in message or "overflowed float32" in message
    return message


def _scaled(model, prefix: str, factor: float):
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.startswith(prefix):
                parameter.mul_(factor)
    return model


def test_nan_in_the_input_audio_is_said_to_be_the_input():
    sample = random_sample(0)
    samples = sample.audio.samples.copy()
    samples[100] = np.nan
    broken = Sample(image=sample.image, text=sample.text, audio=AudioClip(samples, 16000))
    message = _refusal(Analyzer(tiny_model(), "cpu"), broken)
    assert message.endswith("the input is not finite: the audio holds NaN samples")


def test_infinite_input_audio_in_a_batch_names_the_sample():
    good = random_sample(0)
    samples = good.audio.samples.copy()
    samples[:10] = np.inf
    bad = Sample(text="seven", audio=AudioClip(samples, 16000))
    with pytest.raises(InputError, match="the audio of sample 2 holds infinite samples"):
        Analyzer(tiny_model(), "cpu").analyze_batch([good, bad])


def test_non_finite_weights_are_refused_once_at_load_naming_the_parameter():
    model = tiny_model()
    with torch.no_grad():
        model.fusion.head[4].weight[3, 1] = float("inf")
    with pytest.raises(InputError) as caught:
        Analyzer(model, "cpu")
    assert str(caught.value) == (
        "the model 'fusionnet' cannot be used: its weights are not finite "
        "('fusion.head.4.weight' holds infinite values)"
    )


def test_float32_overflow_is_told_apart_by_a_float64_recomputation():
    model = _scaled(tiny_model(), "image_encoder", 1e6)
    message = _refusal(Analyzer(model, "cpu"), random_sample(1))
    assert "first overflowed float32 in the image encoder (image_encoder." in message
    assert "recomputed in float64 every value stays finite" in message
    assert message.endswith("the weights are too large for float32 arithmetic")


def test_float16_overflow_under_autocast_names_float16():
    # Modest weights: fine in float32, past float16's 65504 in the image encoder.
    analyzer = Analyzer(_scaled(tiny_model(), "image_encoder", 30.0), "cpu")
    assert analyzer.analyze(random_sample(2)).compute_dtype == "float32"
    with torch.autocast("cpu", dtype=torch.float16):
        message = _refusal(analyzer, random_sample(2))
    assert "first overflowed float16 in the image encoder" in message
    assert message.endswith("the weights are too large for float16 arithmetic")


def test_weights_too_large_even_for_float64_are_said_so():
    message = _refusal(Analyzer(_scaled(tiny_model(), "", 1e30), "cpu"), random_sample(3))
    assert "overflow even float64" in message
    assert message.endswith("the weights are too large for any floating-point arithmetic")


class _ZeroOverZero(torch.nn.Module):
    """A whole model whose scores divide a zero vector by its zero norm: NaN in any precision."""

    name = "fusionnet"
    labels = ["a", "b"]
    modalities = ("image", "text", "audio")

    def __init__(self):
        super().__init__()
        self.scorer = torch.nn.Linear(4, 2)
        torch.nn.init.zeros_(self.scorer.weight)
        torch.nn.init.zeros_(self.scorer.bias)

    def coalition_logits(self, samples, presence):
        features = torch.ones(*presence.shape[:2], 4, dtype=self.scorer.weight.dtype)
        scores = self.scorer(features)
        return scores / scores.norm(dim=-1, keepdim=True)


def test_an_undefined_operation_is_not_blamed_on_precision():
    message = _refusal(Analyzer(_ZeroOverZero(), "cpu"), Sample(text="seven"))
    assert "first became NaN in the arithmetic between the model's layers" in message
    assert "stay so recomputed in float64" in message and "0/0" in message
    assert "too large" not in message


# --- the dtype the model computes in ---------------------------------------------------------


def test_compute_dtype_is_measured_from_the_forward_pass_not_the_weights():
    plain = Analyzer(tiny_model(), "cpu")
    autocast = Analyzer(bf16_autocast_model(), "cpu")
    assert plain.parameter_dtype == autocast.parameter_dtype == "float32"
    # Before any analysis: a one-word probe through the real forward pass.
    assert plain.probe_compute_dtype() == "float32"
    assert autocast.probe_compute_dtype() == "bfloat16"
    analysis = autocast.analyze(random_sample(4))
    assert (analysis.compute_dtype, analysis.parameter_dtype) == ("bfloat16", "float32")
    assert plain.analyze(random_sample(4)).compute_dtype == "float32"
    restored = Analysis.from_dict(json.loads(analysis.to_json()))
    assert restored.compute_dtype == "bfloat16"


def test_a_callers_autocast_counts_too():
    analyzer = Analyzer(tiny_model(), "cpu")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = analyzer.analyze(random_sample(5))
    outside = analyzer.analyze(random_sample(5))
    assert (inside.compute_dtype, outside.compute_dtype) == ("bfloat16", "float32")


def test_doctor_reports_the_compute_dtype():
    from mmstudio import doctor

    autocast = doctor.precision_of(Analyzer(bf16_autocast_model(), "cpu"))
    plain = doctor.precision_of(Analyzer(tiny_model(), "cpu"))
    assert autocast == {
        "precision": "bfloat16",
        "weights_precision": "float32",
        "precision_model": "fusionnet",
    }
    assert plain["precision"] == "float32"
    line = doctor.format_report(
        {
            "versions": {},
            "device": {"device": "CPU", **autocast, "cuda_available": False, "cuda_version": "-"},
            "system": {
                "portaudio": {"found": False},
                "camera": {"found": False},
                "pulseaudio": {"library": False, "server_running": False},
                "xcb": {"found": True, "missing_packages": []},
            },
            "models": [],
        }
    )
    assert (
        "Device: CPU · computes in bfloat16 (weights float32), measured with the model "
        "'fusionnet'" in line
    )


# --- signed maps ----------------------------------------------------------------------------


def test_signed_maps_keep_evidence_against_through_json_and_the_cli_pictures(tmp_path):
    from PIL import Image

    from mmstudio.explain.render import colormap, write_heatmap_pngs

    sample = random_sample(6)
    analysis = Analyzer(tiny_model("concat"), "cpu").analyze(sample)
    assert analysis.signed_maps == ["text", "audio"]
    assert analysis.token_weights.min() < 0 and analysis.audio_heatmap.min() < 0
    restored = Analysis.from_dict(json.loads(analysis.to_json()))
    assert restored.signed_maps == ["text", "audio"]
    # The PNGs draw a signed map on the diverging scale: -1 blue, 0 grey, 1 red.
    blue, grey, red = colormap(np.array([-1.0, 0.0, 1.0]), signed=True)
    assert blue[2] > blue[0] and red[0] > red[2] and len(set(grey.tolist())) == 1
    assert np.array_equal(colormap(np.array([-1.0]))[0], colormap(np.array([0.0]))[0])
    write_heatmap_pngs(analysis, sample, tmp_path)
    picture = np.asarray(Image.open(tmp_path / "text_heatmap.png").convert("RGB"))
    colours = {tuple(c) for c in picture.reshape(-1, 3).tolist()}
    against = colormap(analysis.token_weights[analysis.token_weights < 0][:1], signed=True)[0]
    assert tuple(against.tolist()) in colours
