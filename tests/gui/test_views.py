"""The result views on their own, fed with hand-made Analysis objects; the theme and the menus."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from mmstudio.inputs import AudioClip
from mmstudio.result import Analysis
from tests.gui.helpers import tone

pytestmark = pytest.mark.gui


def analysis(**overrides) -> Analysis:
    probabilities = np.array(
        [0.02, 0.03, 0.05, 0.1, 0.05, 0.05, 0.05, 0.55, 0.05, 0.05], dtype=np.float32
    )
    values = dict(
        labels=[str(i) for i in range(10)],
        probabilities=probabilities,
        predicted_index=7,
        modalities=["image", "text", "audio"],
        present=["image", "text", "audio"],
        fusion_weights={"image": 0.5, "text": 0.2, "audio": 0.3},
        fusion_weights_kind="attention mass",
        shapley={"image": 1.2, "text": -0.3, "audio": 0.4},
        shapley_base=-2.3,
        full_score=-1.0,
        tokens=list("seven"),
        token_weights=np.linspace(0, 1, 5, dtype=np.float32),
    )
    values.update(overrides)
    return Analysis(**values)


def test_prediction_view_shows_the_top_label_large_and_the_top_five(qtbot):
    from mmstudio.gui.results.prediction_view import TOP_K, PredictionView

    view = PredictionView()
    qtbot.addWidget(view)
    view.show_analysis(analysis(), expected="7")
    assert view.headline.text() == "7"
    assert view.headline.font().pointSizeF() > 2 * view.font().pointSizeF()
    assert "55.0%" in view.confidence.text()
    assert "✓" in view.expected.text()
    assert len(view.bars.opts["width"]) == TOP_K
    assert view.bars.opts["width"][0] == pytest.approx(0.55)
    view.show_analysis(analysis(), expected="3")
    assert "✗" in view.expected.text()


def test_contribution_view_labels_both_measures_and_marks_absent_modalities(qtbot):
    from mmstudio.gui.results.contribution_view import (
        SHAPLEY_TITLE,
        WEIGHTS_TITLE,
        ContributionView,
    )

    view = ContributionView()
    qtbot.addWidget(view)
    view.show_analysis(
        analysis(
            present=["image", "text"],
            shapley={"image": 1.0, "text": 0.3},
            fusion_weights={"image": 0.7, "text": 0.3},
        )
    )
    assert "what changed the answer" in SHAPLEY_TITLE and "what it attended to" in WEIGHTS_TITLE
    assert view.shapley_rows() == {"image": "+1.00", "text": "+0.30", "audio (off)": "absent"}
    assert "-2.30 with no input" in view.shapley.caption.text()
    assert "-1.00 with all" in view.shapley.caption.text()
    assert "attention mass" in view.weights.caption.text().lower()


def test_fusion_attention_view_appears_only_with_token_attention(qtbot):
    from mmstudio.gui.results.fusion_view import FusionAttentionView

    view = FusionAttentionView()
    qtbot.addWidget(view)
    view.show()
    view.show_analysis(analysis())
    assert not view.isVisible()
    attention = np.array([0.1, 0.2, 0.1, 0.3, 0.2, 0.1], dtype=np.float32)
    view.show_analysis(
        analysis(
            fusion_attention=attention,
            fusion_attention_modalities=["image", "image", "text", "text", "text", "audio"],
        )
    )
    assert view.isVisible()
    assert list(view.bars.opts["height"]) == pytest.approx(list(attention))
    ticks = view.plot.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == ["image (30%)", "text (60%)", "audio (10%)"]


def test_audio_view_places_the_spectrogram_over_the_analysed_stretch(qtbot):
    from mmstudio.gui.results.audio_view import AudioMapView, analysed_offset

    samples = np.zeros(16000 * 4, dtype=np.float32)
    samples[40000:56000] = tone(1.0)
    clip = AudioClip(samples, 16000)
    assert analysed_offset(samples, 16000, 1.5) == pytest.approx(2.25, abs=0.3)
    view = AudioMapView()
    qtbot.addWidget(view)
    spectrogram = np.random.default_rng(0).normal(-40, 10, (64, 151)).astype(np.float32)
    view.show_map(clip, spectrogram, np.clip(spectrogram / -80, 0, 1), 0.01)
    assert view.has_map()
    left = view.spectrogram.mapRectToParent(view.spectrogram.boundingRect()).left()
    assert left == pytest.approx(analysed_offset(samples, 16000, 1.5), abs=1e-3)
    low, high = view.window_region.getRegion()
    assert high - low == pytest.approx(1.5, abs=0.02)


def test_image_view_overlays_the_heatmap_at_the_image_size(qtbot):
    from PIL import Image

    from mmstudio.gui.results.image_view import ImageMapView

    view = ImageMapView()
    qtbot.addWidget(view)
    heat = np.linspace(0, 1, 90 * 120, dtype=np.float32).reshape(120, 90)
    view.show_map(Image.new("RGB", (90, 120), "white"), heat, "grad-cam")
    assert view.has_map()
    assert view.base.image.shape[:2] == view.overlay.image.shape == (120, 90)
    assert "grad-cam" in view.title.text()
    view.set_opacity(0.25)
    assert view.overlay.opacity() == pytest.approx(0.25)


def test_a_large_image_is_shown_strided_not_copied_whole(qtbot):
    from PIL import Image

    from mmstudio.gui.results.image_view import DISPLAY_MAX_SIDE, ImageMapView

    view = ImageMapView()
    qtbot.addWidget(view)
    view.show_map(Image.new("RGB", (4000, 3000)), np.zeros((3000, 4000), np.float32))
    assert max(view.base.image.shape[:2]) <= DISPLAY_MAX_SIDE


def test_the_palette_follows_the_system_scheme(qtbot):
    from mmstudio.gui.common.theme import is_dark, palette_for

    app = QApplication.instance()
    dark = palette_for(Qt.ColorScheme.Dark, app)
    assert is_dark(dark)
    assert dark.color(QPalette.ColorRole.Text).lightness() > 180
    assert not is_dark(palette_for(Qt.ColorScheme.Light, app))
    assert not is_dark(palette_for(Qt.ColorScheme.Unknown, app))


def test_plots_follow_a_palette_change(qtbot, window):
    from mmstudio.gui.common.theme import dark_palette

    plot = window.results.prediction.plot
    before = plot.backgroundBrush().color().name()
    window.setPalette(dark_palette())
    try:
        dark_base = dark_palette().color(QPalette.ColorRole.Base).name()
        qtbot.waitUntil(lambda: plot.backgroundBrush().color().name() == dark_base, timeout=2000)
        assert dark_base != before
    finally:
        window.setPalette(QApplication.instance().palette())


def test_the_model_menu_lists_registered_models_and_devices(window):
    names = [action.data() for action in window.models.model_group.actions()]
    assert "digits" in names
    assert set(window.models.device_actions) == {"auto", "cpu", "cuda", "mps"}
    assert window.models.device_actions["cpu"].isEnabled()
    # The worker reported what torch found; nothing claims a GPU this machine lacks.
    import torch

    assert window.models.device_actions["cuda"].isEnabled() == torch.cuda.is_available()
