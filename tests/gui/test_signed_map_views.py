"""Signed maps (word occlusion, gradient x input) are drawn on a diverging scale centred on 0,
unsigned ones (attention, Grad-CAM) on the chosen colormap from 0, and every map's title says
which it is: through the real Analyzer and the real views."""

from __future__ import annotations

import numpy as np
import pytest

from mmstudio.analysis import Analyzer
from mmstudio.gui.results import colormaps
from mmstudio.gui.results.audio_view import AudioMapView
from mmstudio.gui.results.image_view import ImageMapView
from mmstudio.gui.results.map_steps import map_steps
from mmstudio.gui.results.text_view import TextMapView
from tests.core.helpers import random_sample, tiny_model

pytestmark = pytest.mark.gui

SIGNED = "signed: red for the prediction, blue against"
UNSIGNED = "unsigned: brighter mattered more"


def _shown(qtbot, fusion: str):
    sample = random_sample(6)
    analysis = Analyzer(tiny_model(fusion), "cpu").analyze(sample)
    views = ImageMapView(), TextMapView(), AudioMapView()
    for view in views:
        qtbot.addWidget(view)
    for step in map_steps(analysis, sample, *views).values():
        step()
    return analysis, views


def _lookup(colorbar) -> np.ndarray:
    return colorbar.colorMap().getLookupTable(0.0, 1.0, 8, alpha=False)


def test_gradient_maps_keep_their_sign_on_a_diverging_scale(qtbot):
    analysis, (image, text, audio) = _shown(qtbot, "concat")
    assert analysis.signed_maps == ["text", "audio"]
    assert analysis.audio_heatmap.min() < 0  # evidence against is kept, not folded in
    assert tuple(audio.overlay.getLevels()) == (-1.0, 1.0)
    assert tuple(audio.colorbar.levels()) == (-1.0, 1.0)
    diverging = colormaps.get(colormaps.DIVERGING).getLookupTable(0.0, 1.0, 8, alpha=False)
    assert np.array_equal(_lookup(audio.colorbar), diverging)
    assert "gradient x input" in audio.title.text() and SIGNED in audio.title.text()
    assert audio.colorbar.axis.labelText == "against · 0 · for"
    # Grad-CAM keeps only the positive part by definition: unsigned, from 0.
    assert tuple(image.overlay.getLevels()) == (0.0, 1.0)
    assert "Grad-CAM" in image.title.text() and UNSIGNED in image.title.text()
    # The chosen colormap recolours the unsigned map only; the signed one stays diverging.
    for view in (image, audio):
        view.set_colormap("viridis")
    viridis = colormaps.get("viridis").getLookupTable(0.0, 1.0, 8, alpha=False)
    assert np.array_equal(_lookup(image.colorbar), viridis)
    assert np.array_equal(_lookup(audio.colorbar), diverging)


def test_word_occlusion_shows_words_against_the_prediction_in_blue(qtbot):
    analysis, (_, text, _) = _shown(qtbot, "attention")
    assert analysis.signed_maps == ["text"] and analysis.text_heatmap_method == "word occlusion"
    title = text.title.text()
    assert f"word occlusion · {SIGNED}" in title and "against</span>" in title
    against = [w for w in range(len(text.words)) if text.word_weights[w] < -0.1]
    supporting = [w for w in range(len(text.words)) if text.word_weights[w] > 0.1]
    assert against, text.word_weights  # this sample's text has words that argue against
    colours = colormaps.rgb(colormaps.DEFAULT, text.word_weights, signed=True)
    for word in against:
        red, _, blue = colours[word]
        assert blue > red
    for word in supporting:
        red, _, blue = colours[word]
        assert red > blue
    html = text.browser.toHtml()
    for word in against:
        assert "#{:02x}{:02x}{:02x}".format(*colours[word]) in html


def test_attention_maps_are_unsigned_and_say_so(qtbot):
    analysis, (image, _, audio) = _shown(qtbot, "attention")
    assert "audio" not in analysis.signed_maps and analysis.audio_heatmap.min() >= 0
    assert tuple(audio.overlay.getLevels()) == (0.0, 1.0)
    assert f"fusion attention · {UNSIGNED}" in audio.title.text()
    assert f"fusion attention · {UNSIGNED}" in image.title.text()
    assert audio.colorbar.axis.labelText == "weight"
