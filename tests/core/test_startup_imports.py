"""What `mmstudio predict` with the built-in model imports, and what loading one named model
loads: start-up time goes to what the prediction needs (see benchmarks/startup.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mmstudio.models import registry

ROOT = Path(__file__).resolve().parents[2]
# Each costs a tenth of a second to over a second to import, and predict needs none of them:
# torch._dynamo came with initialisers run on the meta device, huggingface_hub with checking
# the clip-clap entry's cache while only the digits model was loaded, sympy with the text
# encoder's slow path, taken while the compute dtype was watched.
NOT_NEEDED = (
    "torch._dynamo",
    "sympy",
    "huggingface_hub",
    "transformers",
    "scipy",
    "pyarrow",
    "PySide6",
)

_PREDICT = """
import contextlib, io, sys
from mmstudio.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    status = main(["predict", "--image", "resources/samples/digit_3.png", "--text", "three",
                   "--audio", "resources/samples/three.wav", "--json"])
assert status == 0 and '"predicted_index": 3' in out.getvalue(), out.getvalue()
print(sorted(m for m in %r if m in sys.modules))
"""


def test_predict_with_the_built_in_model_imports_only_what_it_needs():
    result = subprocess.run(
        [sys.executable, "-c", _PREDICT % (NOT_NEEDED,)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout


class _Point:
    """An entry point that records being loaded."""

    def __init__(self, name: str, loaded: list[str]):
        self.name, self.value, self.dist, self._loaded = name, f"fake:{name}", None, loaded

    def load(self):
        self._loaded.append(self.name)
        return lambda device: f"{self.name} on {device}"


def test_loading_a_named_model_loads_no_other_entry_point(monkeypatch):
    loaded: list[str] = []
    points = [_Point("first", loaded), _Point("second", loaded)]
    real = registry.entry_points
    monkeypatch.setattr(
        registry,
        "entry_points",
        lambda group: points if group == registry.ENTRY_POINT_GROUP else real(group=group),
    )
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_discovered", False)
    assert registry.get_model("second", "cpu") == "second on cpu"
    assert loaded == ["second"]
    assert [entry.name for entry in registry.list_models()] == ["first", "second"]
    assert loaded == ["second", "first", "second"]
    assert registry.get_model("first", "cpu") == "first on cpu"
    assert loaded == ["second", "first", "second"]  # listed once: nothing loads again


def test_watching_the_compute_dtype_leaves_the_fused_transformer_path_on():
    """Hooks inside a transformer layer send it to PyTorch's slow path; the dtype is read at
    the encoder around the layers instead, and still measured."""
    import torch

    from mmstudio.numerics.compute_dtype import ComputeDtype
    from tests.core.helpers import random_sample, tiny_model

    model = tiny_model("concat").eval()
    layers = [m for m in model.modules() if isinstance(m, torch.nn.TransformerEncoderLayer)]
    assert layers
    watched = ComputeDtype()
    with watched.watching(model), torch.no_grad():
        assert not any(m._forward_hooks for layer in layers for m in layer.modules())
        assert model.text_encoder.encoder._forward_hooks
        batch = model.preprocess([random_sample(0)])
        model.text_encoder.forward_tokens(model.text_encoder.embed(batch.text_ids), batch.text_mask)
        assert watched.name == "float32"
    assert not model.text_encoder.encoder._forward_hooks
