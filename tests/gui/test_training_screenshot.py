"""The training studio with a comparison in progress, on a real X server (Xvfb): the picture in
docs/training.png.

Runs ``python -m tests.gui.training_screenshot`` with the xcb platform plugin, so the fonts, sizes
and plots are what a person would see. The picture goes to tests/artifacts/training.png; with
MMSTUDIO_UPDATE_SCREENSHOT=1 it also replaces docs/training.png.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mmstudio.models.registry import get_entry
from tests.conftest import require_or_skip
from tests.gui.test_real_window import ARTIFACTS, ROOT, assert_real_picture

pytestmark = [pytest.mark.gui, pytest.mark.system, pytest.mark.slow]


def test_a_comparison_in_progress_on_a_real_screen(display, tmp_path):
    require_or_skip(get_entry("digits").available, "the shipped digits weights are missing")
    shot = ARTIFACTS / "training.png"
    shot.unlink(missing_ok=True)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "xcb",
        "DISPLAY": display,
        "MMSTUDIO_SETTINGS_DIR": str(tmp_path / "settings"),
        "MMSTUDIO_CACHE_DIR": str(tmp_path / "cache"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.gui.training_screenshot", str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=660,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    picture = assert_real_picture(shot, (1900, 1000))
    # The plots on the right: concat's blue mean line and band, gated's green.
    plots = np.asarray(picture)[:, picture.width // 3 :].astype(int)
    red, green, blue = plots[..., 0], plots[..., 1], plots[..., 2]
    concat = int(
        ((abs(red - 0x4C) < 12) & (abs(green - 0x78) < 12) & (abs(blue - 0xA8) < 12)).sum()
    )
    gated = int(((abs(red - 0x54) < 12) & (abs(green - 0xA2) < 12) & (abs(blue - 0x4B) < 12)).sum())
    assert concat > 500 and gated > 100, (concat, gated)
    if os.environ.get("MMSTUDIO_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "training.png")
