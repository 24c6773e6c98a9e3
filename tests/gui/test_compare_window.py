"""Two models on one sample in the real window: Model ▸ Compare With loads a second model once,
in the analysis thread, and every analysis of the window is shown beside the second model's."""

from __future__ import annotations

import numpy as np
import pytest

from mmstudio.analysis import load_analyzer
from mmstudio.gui.common.settings import StudioSettings
from tests.core.helpers import tiny_model
from tests.gui.helpers import digit_image
from tests.gui.test_main_window import analysed

pytestmark = pytest.mark.gui
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def late_model_dir(tmp_path_factory):
    """A second tiny model of another fusion strategy (late: averaged unimodal heads)."""
    from mmstudio.models import save_checkpoint

    model = tiny_model("late", seed=5, name="tiny-late", description="random weights, for tests")
    return save_checkpoint(model, tmp_path_factory.mktemp("late") / "late")


def _compared(qtbot, window, action):
    """Run ``action`` and wait until the panel shows the comparison of the newest analysis."""
    comparisons = []
    window.compare.compared.connect(comparisons.append)
    action()
    qtbot.waitUntil(
        lambda: (
            bool(comparisons)
            and comparisons[-1].first is window.results.analysis
            and not window.side_by_side.panel.is_rendering()
        ),
        timeout=TIMEOUT,
    )
    return comparisons[-1]


def test_two_models_of_different_fusion_strategies_side_by_side(
    qtbot, window, tiny_model_dir, late_model_dir
):
    window.inputs.image_input.set_image(digit_image("3"), "three.png")
    window.inputs.text_input.set_text("it is a three")
    qtbot.waitUntil(lambda: window.results.analysis is not None, timeout=TIMEOUT)
    comparison = _compared(qtbot, window, lambda: window.compare.choose(str(late_model_dir)))
    sample = window.studio.sample()
    # Each column is exactly what that model's own Analyzer says about this sample.
    for analysis, folder in (
        (comparison.first, tiny_model_dir),
        (comparison.second, late_model_dir),
    ):
        own = load_analyzer(str(folder), "cpu").analyze(sample)
        assert analysis.predicted_label == own.predicted_label
        np.testing.assert_allclose(analysis.probabilities, own.probabilities, atol=1e-5)
        assert analysis.shapley == pytest.approx(own.shapley, abs=1e-4)
    panel = window.side_by_side.panel
    assert window.side_by_side.isVisible() and panel.kind == "models"
    assert panel.left.title.text() == "tiny-random" and panel.right.title.text() == "tiny-late"
    assert panel.verdict.text() == comparison.verdict()
    for column, analysis in ((panel.left, comparison.first), (panel.right, comparison.second)):
        assert column.prediction.headline.text() == analysis.predicted_label
        assert column.contributions.shapley_rows()["image"] == f"{analysis.shapley['image']:+.2f}"
        assert column.image_map.has_map() and column.text_map.has_map()
        assert column.image_map.overlay.image.shape == analysis.image_heatmap.shape
    # Another analysis reuses the loaded second model: loaded once, never a copy per request.
    again = _compared(qtbot, window, lambda: window.inputs.text_input.set_text("three"))
    assert again.second.tokens != comparison.second.tokens
    assert window.compare.second.loads == 1
    # Remembered for the next session.
    assert StudioSettings.read(window.settings, ()).compare_model == str(late_model_dir)


def test_the_comparison_model_is_loaded_again_only_when_the_choice_changes(
    qtbot, window, tiny_model_dir, late_model_dir
):
    analysed(qtbot, window, lambda: window.inputs.text_input.set_text("seven"))
    _compared(qtbot, window, lambda: window.compare.choose(str(late_model_dir)))
    same = _compared(qtbot, window, lambda: window.compare.choose(str(tiny_model_dir)))
    assert window.compare.second.loads == 2
    # The same checkpoint twice: same predictions, told apart by their folders.
    assert same.agree and same.verdict() == f"Both models predict {same.first.predicted_label}."
    assert window.side_by_side.panel.right.title.text() == "tiny-random (tiny)"
    checked = [a.data() for a in window.compare.group.actions() if a.isChecked()]
    assert checked == []  # a folder is not one of the registered models listed
    window.compare.stop()
    assert not window.compare.stop_action.isEnabled()
    assert StudioSettings.read(window.settings, ()).compare_model == ""
    assert window.side_by_side.panel.verdict.text() == "Not comparing models."
    qtbot.waitUntil(lambda: window.compare.second.analyzer is None, timeout=TIMEOUT)
    # Without a comparison model, analyses go on as before and nothing is compared.
    compared = []
    window.compare.compared.connect(compared.append)
    analysed(qtbot, window, lambda: window.inputs.text_input.set_text("three"))
    qtbot.wait(300)
    assert compared == []


def test_an_unavailable_comparison_model_is_explained_and_the_first_model_goes_on(
    qtbot, window, tmp_path
):
    missing = tmp_path / "no-such-model"
    analysed(qtbot, window, lambda: window.inputs.text_input.set_text("seven"))
    first = window.presenter.model_info
    window.compare.choose(str(missing))
    qtbot.waitUntil(lambda: "comparison model" in window.error_banner.text(), timeout=TIMEOUT)
    message = window.error_banner.text()
    assert "no-such-model” could not be loaded" in message and "own model is unaffected" in message
    assert "no-such-model" in window.side_by_side.panel.verdict.text()
    # The window's model still answers, and the failure is not retried on every analysis.
    banners = []
    window.error_banner.show_message = lambda text: banners.append(text)
    analysis = analysed(qtbot, window, lambda: window.inputs.text_input.set_text("three"))
    qtbot.waitUntil(lambda: "no-such-model" in window.side_by_side.panel.verdict.text())
    assert analysis.tokens and window.presenter.model_info is first
    assert banners == [] and window.compare.second.loads == 0


def test_the_compare_menu_lists_the_registered_models_and_remembers_the_choice(
    qtbot, tiny_model_dir, late_model_dir, monkeypatch
):
    monkeypatch.setattr(
        "mmstudio.gui.inputs.microphone.probe", lambda refresh=False: "No microphone (test)"
    )
    from mmstudio.gui.common.settings import open_settings
    from mmstudio.gui.shell.main_window import MainWindow

    store = open_settings()
    prefs = StudioSettings.read(store, ())
    prefs.compare_model = "digits"
    prefs.write(store)
    window = MainWindow(model=str(tiny_model_dir), device="cpu")
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.model_ready, timeout=120_000):
        window.show()
    names = [a.data() for a in window.compare.group.actions()]
    assert "digits" in names
    assert [a.data() for a in window.compare.group.actions() if a.isChecked()] == ["digits"]
    texts = [a.text() for a in window.compare.menu.actions() if a.text()]
    assert texts[-2:] == ["Other &Folder…", "&Stop Comparing"]
    model_menu = [a.text() for a in window.model_menu.actions()]
    assert model_menu.index("Compare &With") < model_menu.index("&Device")
    window.close()
