"""The plugin API: the example package installed with pip is found through the
``mmstudio.models`` entry-point group and explained like a built-in model, and the worked
example in docs/plugins.md runs as written."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from PIL import Image

from mmstudio.analysis import Analyzer
from mmstudio.inputs import InputError, Sample
from mmstudio.models import registry
from mmstudio.models.protocol import FusionModel, SplitFusionModel, WholeFusionModel
from tests.conftest import require_or_skip

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "plugin_package"
DOCS = ROOT / "docs" / "plugins.md"


def _backend_available() -> bool:
    # Without build isolation pip uses this interpreter's setuptools, which needs the wheel
    # package before setuptools 70.1; otherwise pip fetches them from the package index.
    return importlib.util.find_spec("wheel") is not None or _setuptools_version() >= (70, 1)


def _setuptools_version() -> tuple[int, ...]:
    try:
        from importlib.metadata import version

        return tuple(int(part) for part in re.findall(r"\d+", version("setuptools"))[:2])
    except Exception:
        return (0,)


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """A real pip install of examples/plugin_package into a folder of its own: the shared
    environment stays untouched, and subprocesses see the plugin through PYTHONPATH."""
    pip = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True)
    require_or_skip(pip.returncode == 0, "pip is not available in this environment")
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(
        PLUGIN, work / "source"
    )  # pip builds in the tree: keep the checkout clean
    site = work / "site"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--target",
        str(site),
        str(source),
    ]
    if _backend_available():
        command.insert(-1, "--no-build-isolation")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"pip could not install the example plugin:\n{result.stdout}\n{result.stderr}"
    )
    return site


def mmstudio_models_with(site: Path) -> subprocess.CompletedProcess:
    """``mmstudio models`` in a new process that also sees the distributions in ``site``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-m", "mmstudio", "models"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_installed_plugin_is_listed_by_the_cli(plugin_site):
    result = mmstudio_models_with(plugin_site)
    line = next((row for row in result.stdout.splitlines() if row.startswith("example-colors")), "")
    assert "[plugin mmstudio_example_plugin:load]  classification  ready" in line, result.stdout
    assert "Red, green or blue" in result.stdout  # the loader's docstring is the description


def test_installed_plugin_is_analysed_like_a_builtin_model(plugin_site, monkeypatch):
    for name in [m for m in sys.modules if m.split(".")[0] == "mmstudio_example_plugin"]:
        monkeypatch.delitem(sys.modules, name)  # load it from the installed copy
    monkeypatch.syspath_prepend(str(plugin_site))
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_discovered", False)
    model = registry.get_model("example-colors", "cpu")
    assert Path(sys.modules[type(model).__module__].__file__).is_relative_to(plugin_site)
    sample = Sample(image=Image.new("RGB", (40, 30), (30, 200, 40)), text="fresh grass and leaves")
    analysis = Analyzer(model, "cpu").analyze(sample)
    assert analysis.predicted_label == "green"
    assert analysis.shapley_base + sum(analysis.shapley.values()) == pytest.approx(
        analysis.full_score, abs=1e-6
    )
    assert analysis.shapley["image"] > 0 and analysis.shapley["text"] > 0
    assert analysis.image_heatmap.shape == (30, 40)
    assert analysis.tokens == ["fresh", "grass", "and", "leaves"]
    assert analysis.token_weights.tolist() == [0.0, 1.0, 0.0, 1.0]


@pytest.fixture
def example_model(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN / "src"))
    from mmstudio_example_plugin import load

    return load("cpu")


def test_example_model_follows_the_split_protocol(example_model):
    assert isinstance(example_model, SplitFusionModel) and isinstance(example_model, FusionModel)
    assert not isinstance(example_model, WholeFusionModel)
    assert example_model.task == "classification"
    analyzer = Analyzer(example_model, "cpu")
    red = Image.new("RGB", (20, 10), (220, 20, 20))
    both, image_only, text_only = analyzer.analyze_batch(
        [Sample(image=red, text="deep blue sea"), Sample(image=red), Sample(text="emerald")]
    )
    assert (image_only.predicted_label, text_only.predicted_label) == ("red", "green")
    assert image_only.present == ["image"] and list(image_only.shapley) == ["image"]
    assert sum(both.fusion_weights.values()) == pytest.approx(1.0)
    for analysis in (both, image_only, text_only):
        assert analysis.shapley_base + sum(analysis.shapley.values()) == pytest.approx(
            analysis.full_score, abs=1e-6
        )
    assert both.image_heatmap.shape == (10, 20) and text_only.image_heatmap is None


def test_example_model_refuses_audio_only_input(example_model):
    import numpy as np

    from mmstudio.inputs import AudioClip

    with pytest.raises(InputError, match="images and text only"):
        Analyzer(example_model, "cpu").analyze(
            Sample(audio=AudioClip(np.ones(160, np.float32), 16000))
        )


def test_the_worked_example_in_the_docs_runs(monkeypatch):
    monkeypatch.setattr(
        registry, "_REGISTRY", dict(registry._REGISTRY)
    )  # its registration stays here
    # The example's get_model() may run the discovery into that copy: restore the flag too,
    # or later tests would find an empty registry marked as discovered.
    monkeypatch.setattr(registry, "_discovered", registry._discovered)
    blocks = re.findall(
        r"^```python\n(.*?)^```", DOCS.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE
    )
    assert len(blocks) >= 4
    module = types.ModuleType("docs_plugins_example")  # dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile("\n".join(blocks), str(DOCS), "exec"), module.__dict__)  # noqa: S102 - our own documentation
    assert module.analysis.predicted_label in ("quiet", "loud")
    assert module.whole.fusion_weights == {}  # whole models have no fusion weights


def _clashing_plugin(folder: Path) -> Path:
    """An installed distribution, as pip lays one out (a module and its .dist-info), whose
    ``mmstudio.models`` entry point takes the built-in model's name."""
    (folder / "clashing_colors.py").write_text(
        "def load(device):\n    raise AssertionError('a refused plugin is never loaded')\n",
        encoding="utf-8",
    )
    info = folder / "clashing_colors-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: clashing-colors\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[mmstudio.models]\n{registry.DEFAULT_MODEL} = clashing_colors:load\n", encoding="utf-8"
    )
    return folder


def test_a_plugin_cannot_replace_a_builtin_model(tmp_path, monkeypatch):
    site = _clashing_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_PROBLEMS", [])
    monkeypatch.setattr(registry, "_discovered", False)
    entry = registry.get_entry(registry.DEFAULT_MODEL)
    assert entry.kind == "checkpoint" and entry.source == "built-in"
    (problem,) = registry.registry_problems()
    assert "'clashing-colors'" in problem and "mmstudio's built-in model 'digits'" in problem
    assert "clashing_colors:load" in problem and "refused" in problem
    from mmstudio import doctor

    report = doctor.collect()
    assert report["model_problems"] == [problem]
    assert f"refused: {problem}" in doctor.format_report(report)


def test_mmstudio_models_says_which_plugin_was_refused(tmp_path):
    result = mmstudio_models_with(_clashing_plugin(tmp_path))
    lines = result.stdout.splitlines()
    assert any(line.startswith("digits  [built-in]  classification  ready") for line in lines), (
        result.stdout
    )
    refused = [line for line in lines if line.startswith("refused: ")]
    assert len(refused) == 1 and "'clashing-colors'" in refused[0] and "'mmstudio'" in refused[0]


def test_a_model_is_named_by_its_folder_or_its_registered_name(tmp_path):
    assert registry.short_name(tmp_path / "runs" / "attention-seed1") == "attention-seed1"
    assert registry.short_name(f"{tmp_path}/runs/attention-seed1/") == "attention-seed1"
    assert registry.short_name("digits") == "digits"
