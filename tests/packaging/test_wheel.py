"""The wheel is the product: built from an sdist, installed into a new virtual environment outside
the checkout, it lists its models, predicts exactly as the checkout does, answers with digits-chat
offline and opens its window.

What is real and what is shared, and why:

- Real: the sdist is built from the checkout's files (copied out, so the build writes nothing
  into the checkout), the wheel is built from that sdist (``python -m build``, as a packager
  would: what the sdist forgot, the wheel lacks), and pip installs that wheel into a new venv in a
  temporary folder. Every command then runs that venv's interpreter or its ``mmstudio`` script, in
  a working directory outside the checkout, without PYTHONPATH. mmstudio's code, its dist-info,
  its console script and its resources (model weights, card, samples, icons) are the wheel's
  copies inside the new venv, and the test asserts each of them is.
- Shared: the third-party dependencies (the ~5 GB torch set, PySide6, transformers, ...). The
  new venv's site-packages holds one .pth file whose single line appends the test environment's
  site-packages after its own. Those packages are exactly the locked versions (``make test``
  runs packaging/check_lock.py before pytest), which is what a real install from the lock gets;
  installing them again would cost every CI run minutes of download and gigabytes of disk. A
  plain path line does not run that folder's own .pth files, so the test environment's editable
  mmstudio (an import hook installed by such a file) cannot leak in; the test asserts no
  editable finder is active and that every requirement the wheel declares is met.
- MMSTUDIO_WHEEL_TEST_FULL=1 shares nothing: pip installs requirements/app.txt and the wheel
  into the new venv from the package index (slow: the whole torch set).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageStat

from tests.conftest import require_or_skip

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("install_probe.py")
FULL_INSTALL = os.environ.get("MMSTUDIO_WHEEL_TEST_FULL") == "1"
EXAMPLE = "all agree: seven"
TIMING = "mmstudio-timing"  # the prefix of mmstudio.gui.shell.launch's --timings lines
# The window painted, then the example's analysis reached the window, then the picture was taken.
WINDOW_MILESTONES = ("window_shown", "first_analysis", "screenshot_saved")
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
WHEEL_MUST_HOLD = [
    "mmstudio/cli/__init__.py",
    "mmstudio/cli/answers.py",
    "mmstudio/models/generative/model.py",
    "mmstudio/gui/shell/main_window.py",
    "mmstudio/_resources/models/digits/model.safetensors",
    "mmstudio/_resources/models/digits/config.json",
    "mmstudio/_resources/models/digits/labels.txt",
    "mmstudio/_resources/models/digits/MODEL_CARD.md",
    "mmstudio/_resources/models/digits-chat/model.safetensors",
    "mmstudio/_resources/models/digits-chat/config.json",
    "mmstudio/_resources/models/digits-chat/tokenizer.json",
    "mmstudio/_resources/models/digits-chat/chat_template.jinja",
    "mmstudio/_resources/samples/examples.json",
    "mmstudio/_resources/samples/digit_7.png",
    "mmstudio/_resources/samples/seven.wav",
    "mmstudio/_resources/icons/mmstudio.svg",
    *(f"mmstudio/_resources/icons/mmstudio-{size}.png" for size in ICON_SIZES),
]


@dataclass
class Installed:
    venv: Path
    python: Path
    command: Path
    work: Path  # the working directory outside the checkout every command runs in
    env: dict[str, str]
    probe: dict


def _run(args, *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600):
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result


def _checkout_files() -> list[str]:
    """The files a fresh clone would have: tracked and new ones, never ignored build output."""
    require_or_skip(
        shutil.which("git") is not None and (ROOT / ".git").exists(),
        "the wheel test copies the checkout's files with git, which needs a git checkout",
    )
    listed = _run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT
    ).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    source = tmp_path_factory.mktemp("source")
    for name in _checkout_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    # No --sdist/--wheel: build makes the sdist, then the wheel from the unpacked sdist.
    # --no-isolation builds with the locked setuptools and wheel already here, offline.
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source], cwd=source)
    (sdist,) = dist.glob("mmstudio-*.tar.gz")
    (wheel,) = dist.glob("mmstudio-*.whl")
    return {"sdist": sdist, "wheel": wheel}


def _site_packages(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(_run([python, "-I", "-c", code], cwd=python.parent).stdout.strip())


def _shared_site_packages() -> list[str]:
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def _clean_env(work: Path) -> dict[str, str]:
    """The user's environment minus anything that would point Python back at the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(work / "home"), MMSTUDIO_SETTINGS_DIR=str(work / "settings"))
    (work / "home").mkdir(exist_ok=True)
    return env


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory) -> Installed:
    work = tmp_path_factory.mktemp("elsewhere")
    env = _clean_env(work)
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--clear", "--without-pip", venv], cwd=work, env=env)
    python = venv / "bin" / "python"
    # pip --python runs pip under the new interpreter, which then sees only that venv.
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--no-cache-dir"]
    if FULL_INSTALL:
        requirements = ROOT / "requirements" / "app.txt"
        _run([*pip, "-r", requirements, built["wheel"]], cwd=work, env=env, timeout=3600)
    else:
        # The wheel goes in before the shared folder is visible, so pip sees a bare venv and
        # cannot touch (or count as installed) anything of the test environment's.
        _run([*pip, "--no-deps", "--no-index", built["wheel"]], cwd=work, env=env)
        shared = "".join(f"{path}\n" for path in _shared_site_packages())
        (_site_packages(python) / "zz_shared_locked_dependencies.pth").write_text(shared)
    probe = json.loads(_run([python, "-I", PROBE], cwd=work, env=env).stdout)
    return Installed(venv, python, venv / "bin" / "mmstudio", work, env, probe)


def _inside(path: str | Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def test_the_sdist_and_the_wheel_carry_the_code_and_the_resources(built):
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    missing = [name for name in WHEEL_MUST_HOLD if name not in names]
    assert not missing, f"the wheel lacks {missing}"
    strays = sorted(n for n in names if n.startswith(("tests/", "resources/")) or "/.venv/" in n)
    assert not strays, f"the wheel carries files that are not the product: {strays[:5]}"
    with zipfile.ZipFile(built["wheel"]) as wheel:
        shipped = wheel.read("mmstudio/_resources/models/digits/model.safetensors")
    assert shipped == (ROOT / "resources/models/digits/model.safetensors").read_bytes()
    # digits-chat: every file of the shipped folder (weights, configs, tokenizer, processor,
    # chat template, card), byte for byte.
    chat = ROOT / "resources" / "models" / "digits-chat"
    folder = "mmstudio/_resources/models/digits-chat/"
    assert {n[len(folder) :] for n in names if n.startswith(folder)} == {
        p.name for p in chat.iterdir() if p.is_file()
    }
    with zipfile.ZipFile(built["wheel"]) as wheel:
        for path in chat.iterdir():
            assert wheel.read(folder + path.name) == path.read_bytes(), path.name


def test_the_installed_mmstudio_is_the_wheels_copy_in_the_new_venv(installed):
    probe, venv = installed.probe, installed.venv
    for key in ("mmstudio", "metadata", "resources", "samples", "icons"):
        assert _inside(probe[key], venv), f"{key} comes from {probe[key]}, not from {venv}"
    elsewhere = [entry for entry in probe["sys_path"] if entry and not _inside(entry, venv)]
    # The shared folder may lie inside the checkout (make test's .venv does): what matters is
    # that it holds no mmstudio package, and that nothing else of the checkout is on the path.
    shared = set(_shared_site_packages())
    assert not any(_inside(entry, ROOT) for entry in elsewhere if entry not in shared), (
        f"the checkout is on the installed interpreter's path: {probe['sys_path']}"
    )
    assert not any((Path(entry) / "mmstudio").exists() for entry in elsewhere), (
        f"another mmstudio is on the installed interpreter's path: {elsewhere}"
    )
    assert not any("editable" in finder.lower() for finder in probe["meta_path"]), (
        f"an editable install's import hook is active: {probe['meta_path']}"
    )
    assert probe["unmet"] == [], f"the wheel's requirements are not met: {probe['unmet']}"
    head = installed.command.read_text()[:1000]  # the shebang, or pip's /bin/sh exec line
    assert str(installed.python) in head, f"the mmstudio script does not run the new venv:\n{head}"


def test_models_lists_the_packaged_digits_model(installed):
    listed = _run([installed.command, "models"], cwd=installed.work, env=installed.env).stdout
    digits = next((line for line in listed.splitlines() if line.startswith("digits ")), None)
    assert digits is not None and digits.rstrip().endswith("ready"), listed
    weights = listed.split("weights: ", 1)[1].splitlines()[0]
    assert _inside(weights, installed.venv), f"the digits weights are read from {weights}"


def test_the_packaged_digits_chat_answers_offline(installed):
    """From the wheel's copy, with the Hugging Face Hub switched off: listed as ready, opened by
    name through the generative folder loader, it answers a question about a packaged image."""
    env = {**installed.env, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    listed = _run([installed.command, "models"], cwd=installed.work, env=env).stdout
    line = next((row for row in listed.splitlines() if row.startswith("digits-chat ")), "")
    assert "generation" in line and line.rstrip().endswith("ready"), listed
    samples = Path(installed.probe["samples"])
    ask = ["predict", "--model", "digits-chat", "--device", "cpu", "--json"]
    ask += ["--image", str(samples / "digit_7.png"), "--text", "What digit is written?"]
    answer = json.loads(_run([installed.command, *ask], cwd=installed.work, env=env).stdout)
    assert answer["model_name"] == "digits-chat" and answer["present"] == ["image", "text"]
    assert answer["finished"] == "eos" and answer["answer"].strip()
    assert answer["answer_shapley"] is not None  # explained, as the window would show it


def _example(samples: Path) -> dict:
    examples = json.loads((samples / "examples.json").read_text(encoding="utf-8"))
    return next(e for e in examples if e["name"] == EXAMPLE)


def _predict_args(samples: Path) -> list[str]:
    example = _example(samples)
    return [
        "predict",
        "--device",
        "cpu",
        "--json",
        "--image",
        str(samples / example["image"]),
        "--audio",
        str(samples / example["audio"]),
        "--text",
        example["text"],
    ]


def test_predict_on_a_packaged_sample_matches_the_checkout(installed):
    samples = Path(installed.probe["samples"])
    from_wheel = json.loads(
        _run(
            [installed.command, *_predict_args(samples)], cwd=installed.work, env=installed.env
        ).stdout
    )
    checkout_args = _predict_args(ROOT / "resources" / "samples")
    from_checkout = json.loads(
        _run([sys.executable, "-m", "mmstudio", *checkout_args], cwd=ROOT).stdout
    )
    assert from_wheel["labels"] == from_checkout["labels"]
    assert from_wheel["predicted_index"] == from_checkout["predicted_index"]
    np.testing.assert_allclose(
        from_wheel["probabilities"], from_checkout["probabilities"], rtol=0, atol=1e-6
    )
    label = from_wheel["labels"][from_wheel["predicted_index"]]
    assert label == _example(samples)["expected"]


@pytest.mark.gui
@pytest.mark.system
def test_the_window_opens_and_an_example_from_the_menu_is_analysed(installed, display):
    shot = installed.work / "window.png"
    env = {**installed.env, "QT_QPA_PLATFORM": "xcb", "DISPLAY": display}
    launch = [
        installed.python,
        "-I",
        "-m",
        "mmstudio.gui",
        "--device",
        "cpu",
        "--example",
        EXAMPLE,
        "--size",
        "1024x700",
        "--screenshot",
        shot,
        "--quit-after-analysis",
        "--timings",
    ]
    shown = _run(launch, cwd=installed.work, env=env, timeout=300)
    events = [line.split()[1] for line in shown.stdout.splitlines() if line.startswith(TIMING)]
    assert [e for e in events if e in WINDOW_MILESTONES] == list(WINDOW_MILESTONES), shown.stdout
    picture = Image.open(shot).convert("RGB")
    assert picture.size == (1024, 700)
    assert max(ImageStat.Stat(picture).stddev) > 20, "the screenshot is (nearly) one flat colour"
