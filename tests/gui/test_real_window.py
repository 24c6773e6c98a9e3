"""The real window on a real X server (Xvfb), with screenshots kept as artifacts.

Each test runs ``python -m mmstudio.gui`` in a subprocess with QT_QPA_PLATFORM=xcb, so what is
checked is what a person would see: the xcb platform plugin, real fonts, real window sizes.
Screenshots go to tests/artifacts/ (git-ignored); look at them after a change to the layout.
With MMSTUDIO_UPDATE_SCREENSHOT=1 the first one is also copied to docs/screenshot.png;
MMSTUDIO_GUI_TEST_MODEL=FOLDER shows that model instead of the built-in one.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageStat

from mmstudio.gui.common.theme import ERROR_COLORS
from mmstudio.resources import default_model_dir, samples_dir
from tests.conftest import require_or_skip

pytestmark = [pytest.mark.gui, pytest.mark.system, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
EXAMPLE = "all agree: seven"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """The shipped example and the default model when they exist; otherwise the same sample files
    made here, and a random model (the window then says which model it runs)."""
    folder = tmp_path_factory.mktemp("real_window")
    model_args: list[str] = []
    if os.environ.get(
        "MMSTUDIO_GUI_TEST_MODEL"
    ):  # a model folder to show instead of the built-in one
        model_args = ["--model", os.environ["MMSTUDIO_GUI_TEST_MODEL"]]
    elif not (default_model_dir() / "model.safetensors").is_file():
        from tests.gui.helpers import save_tiny_model

        model_args = ["--model", str(save_tiny_model(folder))]
    if (samples_dir() / "examples.json").is_file():
        input_args = ["--example", EXAMPLE]
    else:
        input_args = _made_sample_args(folder)
    broken = folder / "scan.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    return {
        "model": model_args,
        "inputs": input_args,
        "broken": broken,
        "settings": folder / "settings",
    }


def _made_sample_args(folder: Path) -> list[str]:
    if shutil.which("espeak-ng"):
        from mmstudio.training.digits.samples import write_samples

        write_samples(folder / "samples")
        samples = folder / "samples"
        return [
            "--image",
            str(samples / "digit_7.png"),
            "--audio",
            str(samples / "seven.wav"),
            "--text",
            "I think it is a seven",
        ]
    from tests.gui.helpers import write_input_files

    files = write_input_files(folder)
    return [
        "--image",
        str(files.image),
        "--audio",
        str(files.audio),
        "--text",
        "I think it is a seven",
    ]


def run_app(
    display: str, scenario: dict, *args: str, timeout: float = 240
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mmstudio.gui", "--device", "cpu", *scenario["model"], *args]
    result = subprocess.run(
        command,
        env=_env(display, scenario),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert result.returncode == 0, (
        f"the app failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result


def _env(display: str, scenario: dict) -> dict:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "xcb",
        "DISPLAY": display,
        "MMSTUDIO_SETTINGS_DIR": str(scenario["settings"]),
    }


def assert_real_picture(path: Path, size: tuple[int, int]) -> Image.Image:
    assert path.is_file(), f"no screenshot at {path}"
    picture = Image.open(path).convert("RGB")
    assert picture.size == size
    spread = ImageStat.Stat(picture).stddev
    assert max(spread) > 20, "the screenshot is (nearly) one flat colour"
    return picture


def error_banner_band(picture: Image.Image) -> tuple[int, int, str] | None:
    """The first and last row of the error banner in a screenshot, and the theme ("light" or
    "dark") whose colours it has; None where no banner shows.

    A banner row is one where at least half the pixels have the banner's background colour; the
    band is the run of such rows that starts highest.
    """
    pixels = np.asarray(picture.convert("RGB")).astype(int)
    for theme, (background, _ink, _border) in ERROR_COLORS.items():
        near = np.abs(pixels - np.array(_rgb(background))).max(axis=-1) <= 3
        rows = near.mean(axis=1) >= 0.5
        found = np.flatnonzero(rows)
        if found.size:
            last = found[0]
            while last + 1 < rows.size and rows[last + 1]:
                last += 1
            return int(found[0]), int(last), theme
    return None


def ink_pixels(picture: Image.Image, top: int, bottom: int, theme: str) -> int:
    """How many pixels between the rows are drawn in the banner's text colour: its message."""
    pixels = np.asarray(picture.convert("RGB")).astype(int)[top : bottom + 1]
    ink = np.array(_rgb(ERROR_COLORS[theme][1]))
    return int((np.abs(pixels - ink).max(axis=-1) <= 40).sum())


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


def test_main_window_after_an_analysis_of_a_shipped_sample(display, scenario):
    shot = ARTIFACTS / "main_window.png"
    shot.unlink(missing_ok=True)
    result = run_app(
        display, scenario, *scenario["inputs"], "--size", "1440x900", "--screenshot", str(shot)
    )
    picture = assert_real_picture(shot, (1440, 900))
    # The control for the error test below: a good analysis shows no error banner.
    assert error_banner_band(picture) is None
    assert "the window shows an error" not in result.stderr
    if os.environ.get("MMSTUDIO_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "screenshot.png")


def test_main_window_with_an_error_showing(display, scenario):
    shot = ARTIFACTS / "main_window_error.png"
    shot.unlink(missing_ok=True)
    result = run_app(
        display,
        scenario,
        *scenario["inputs"],
        "--then-open",
        str(scenario["broken"]),
        "--size",
        "1440x900",
        "--screenshot",
        str(shot),
    )
    picture = assert_real_picture(shot, (1440, 900))
    # What the banner says: a scripted launch repeats its message on the terminal.
    shown = [
        line.removeprefix("mmstudio: the window shows an error: ")
        for line in result.stderr.splitlines()
        if line.startswith("mmstudio: the window shows an error: ")
    ]
    assert len(shown) == 1, result.stderr
    assert shown[0].startswith("scan.png: ") and "damaged" in shown[0], shown[0]
    # What the picture shows: the banner across the window's top, under the menu bar, with text.
    band = error_banner_band(picture)
    assert band is not None, "no error banner in the screenshot"
    top, bottom, theme = band
    assert 15 <= top < 100, f"the banner starts at row {top}, not under the menu bar"
    assert bottom - top + 1 >= 20, f"the banner is only {bottom - top + 1} rows high"
    assert ink_pixels(picture, top, bottom, theme) >= 100, "the banner shows no message"


def test_narrow_window_and_a_real_screen_grab(display, scenario):
    """1024 x 700, read back from the X server itself with ImageMagick; then Ctrl+Q quits."""
    require_or_skip(
        shutil.which("import") is not None and shutil.which("xdotool") is not None,
        "ImageMagick's import and xdotool are needed (apt install imagemagick xdotool)",
    )
    shot = ARTIFACTS / "main_window_narrow.png"
    shot.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "mmstudio.gui",
        "--device",
        "cpu",
        *scenario["model"],
        *scenario["inputs"],
        "--size",
        "1024x700",
        "--timings",
    ]
    app = subprocess.Popen(
        command,
        env=_env(display, scenario),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        _wait_for_line(app, "first_analysis", timeout=240)
        time.sleep(1.0)  # the heatmaps are drawn after the result arrives
        env = _env(display, scenario)
        found = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", "mmstudio"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        window_id = found.stdout.split()[0]
        grab = subprocess.run(
            ["import", "-display", display, "-window", window_id, str(shot)],
            capture_output=True,
            timeout=60,
        )
        assert grab.returncode == 0, grab.stderr
        # No window manager on Xvfb: give the window the keyboard focus, then press Ctrl+Q.
        subprocess.run(["xdotool", "windowfocus", "--sync", window_id], env=env, timeout=30)
        subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+q"], env=env, timeout=30)
        assert app.wait(timeout=30) == 0, "Ctrl+Q did not close the window cleanly"
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert_real_picture(shot, (1024, 700))


def _wait_for_line(process: subprocess.Popen, event: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        # select() first: a bare readline() would wait forever on an app that prints nothing more.
        ready, _, _ = select.select([process.stdout], [], [], left)
        if not ready:
            break
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            pytest.fail(f"the app exited early:\n{process.stderr.read()}")
        if line.startswith("mmstudio-timing") and line.split()[1] == event:
            return
    pytest.fail(f"the app did not report {event} within {timeout:.0f} s")


def test_a_dataset_launch_waits_for_the_checks_before_its_screenshot(display, scenario, tmp_path):
    """``--dataset DIR --screenshot`` (how docs/dataset.png is made): the picture is taken once
    the dataset is analysed and its follow-up checks (swap test, faithfulness) have run."""
    from tests.core.analysis_data import write_dataset

    data = write_dataset(tmp_path / "data")
    shot = tmp_path / "dataset.png"
    env_cache = {"MMSTUDIO_CACHE_DIR": str(tmp_path / "cache")}
    command = [
        sys.executable, "-m", "mmstudio.gui", "--device", "cpu", *scenario["model"],
        "--dataset", str(data), "--screenshot", str(shot), "--size", "1200x900", "--timings",
    ]  # fmt: skip
    result = subprocess.run(
        command,
        env={**_env(display, scenario), **env_cache},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    events = [
        line.split()[1] for line in result.stdout.splitlines() if line.startswith("mmstudio-timing")
    ]
    assert events.index("dataset_analysed") < events.index("dataset_checked"), events
    assert_real_picture(shot, (1200, 900))
