"""The side-by-side panel after a swap, on a real X server (Xvfb): the picture in docs/swap.png.

Runs ``python -m tests.gui.swap_screenshot`` with the xcb platform plugin, so the fonts, sizes
and the dock are what a person would see. The picture goes to tests/artifacts/swap.png; with
MMSTUDIO_UPDATE_SCREENSHOT=1 it also replaces docs/swap.png.
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


def test_the_swap_side_by_side_on_a_real_screen(display, tmp_path):
    require_or_skip(get_entry("digits").available, "the shipped digits weights are missing")
    shot = ARTIFACTS / "swap.png"
    shot.unlink(missing_ok=True)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "xcb",
        "DISPLAY": display,
        "MMSTUDIO_SETTINGS_DIR": str(tmp_path / "settings"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.gui.swap_screenshot", str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    picture = assert_real_picture(shot, (1900, 1000))
    # The dock on the right: its two columns hold the orange top bars of 7 and of 3.
    right = np.asarray(picture)[:, picture.width // 2 :].astype(int)
    red, green, blue = right[..., 0], right[..., 1], right[..., 2]
    orange = int(((red > 220) & (green > 110) & (green < 150) & (blue < 60)).sum())
    assert orange > 2000, "no prediction bars in the side-by-side dock"
    if os.environ.get("MMSTUDIO_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "swap.png")
