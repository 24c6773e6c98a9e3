"""The explanation views through the real Analyzer and the real window, on the shipped model."""

from __future__ import annotations

import numpy as np
import pytest

from mmstudio.gui.inputs.examples import find_example
from mmstudio.models.registry import get_entry
from tests.conftest import require_or_skip

pytestmark = pytest.mark.gui
TIMEOUT = 60_000


@pytest.fixture
def shipped_window(qtbot, monkeypatch):
    require_or_skip(get_entry("digits").available, "the shipped digits weights are missing")
    monkeypatch.setattr(
        "mmstudio.gui.inputs.microphone.probe", lambda refresh=False: "No microphone (test)"
    )
    from mmstudio.gui.shell.main_window import MainWindow

    window = MainWindow(model="digits", device="cpu")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.model_ready, timeout=120_000):
        window.show()
    return window


def show_example(qtbot, window, name: str):
    example = find_example(name, window.examples)
    assert example is not None, f"the shipped example {name!r} is missing"
    with qtbot.waitSignal(window.analysis_shown, timeout=TIMEOUT):
        window.inputs.load_example(example)
    return window.results.analysis


def test_fusion_attention_appears_for_the_shipped_model_grouped_by_modality(qtbot, shipped_window):
    analysis = show_example(qtbot, shipped_window, "all agree: seven")
    view = shipped_window.results.fusion_map
    assert view.isVisible()
    assert list(view.shares) == ["image", "text", "audio"]
    for modality, share in view.shares.items():
        assert share == pytest.approx(analysis.fusion_weights[modality], abs=1e-4)
    assert len(view.bars.opts["height"]) == len(analysis.fusion_attention)
    assert np.allclose(view.bars.opts["height"], analysis.fusion_attention)

    # Without audio the view follows: the audio tokens are masked, only its absent slot is left.
    analysis = show_example(qtbot, shipped_window, "image and Russian text")
    names = np.array(analysis.fusion_attention_modalities)
    assert np.all(analysis.fusion_attention[names == "audio"][1:] == 0)
    assert view.isVisible() and list(view.shares) == ["image", "text", "audio"]


def test_interactions_are_shown_next_to_the_shapley_bars(qtbot, shipped_window):
    analysis = show_example(qtbot, shipped_window, "outvoted image")
    view = shipped_window.results.contributions.interactions
    assert view.isVisible()
    shown = view.matrix()
    assert set(shown) == {(a, b) for a in analysis.present for b in analysis.present}
    for key, value in analysis.interactions["shapley_interaction"].items():
        first, second = key.split("+")
        assert shown[first, second] == shown[second, first] == f"{value:+.2f}"
    for modality in analysis.present:
        assert shown[modality, modality] == f"{analysis.shapley[modality]:+.2f}"
    tip = view.cells["image", "audio"].toolTip()
    assert "Shapley-Taylor" in tip and "Möbius" in tip
    assert "beyond what each adds alone" in view.caption.text()
    assert view.conflict.text() == (
        f"Alone: image 3 · text 7 · audio 7 · conflict {analysis.conflict:.2f}"
    )
    assert analysis.conflict > 0.5  # the image alone is sure of 3, speech and text of 7

    # One modality has nothing to interact with: the matrix says so instead of showing a cell.
    show_example(qtbot, shipped_window, "handwriting only")
    assert view.matrix() == {} and "nothing to interact with" in view.caption.text()


def test_the_text_map_points_at_the_number_word_and_names_its_method(qtbot, shipped_window):
    analysis = show_example(qtbot, shipped_window, "all agree: seven")
    view = shipped_window.results.text_map
    assert view.words == ["i", "think", "it", "is", "a", "seven"]
    assert view.words[int(np.argmax(view.word_weights))] == "seven"
    assert analysis.text_heatmap_method == "word occlusion"
    assert "word occlusion" in view.title.text()
    # The image keeps its own method's name.
    assert "word occlusion" not in shipped_window.results.image_map.title.text()
