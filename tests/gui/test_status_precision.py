"""The status bar names the dtype the model computes in: autocast counts, not only the weights."""

from __future__ import annotations

from PySide6.QtWidgets import QStatusBar

from mmstudio.analysis import Analyzer
from mmstudio.gui.service.model_host import model_info
from mmstudio.gui.shell.status_bar import StudioStatusBar
from tests.core.helpers import bf16_autocast_model, tiny_model


def _device_text(qtbot, model) -> str:
    bar = QStatusBar()
    qtbot.addWidget(bar)
    status = StudioStatusBar(bar)
    status.show_model(model_info(Analyzer(model, "cpu"), "tiny", 0.1))
    return status.device_label.text()


def test_autocast_model_shows_bfloat16_and_its_float32_weights(qtbot):
    assert _device_text(qtbot, bf16_autocast_model()).endswith("· bfloat16 (weights float32)")


def test_plain_model_shows_float32_once(qtbot):
    assert _device_text(qtbot, tiny_model()).endswith("· float32")
