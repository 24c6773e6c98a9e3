"""The window comes up without torch: the model is imported in the worker thread, after the show."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.gui


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_the_gui_does_not_import_torch():
    out = _run("""
        import sys
        import mmstudio.gui.shell.app, mmstudio.gui.shell.main_window, mmstudio.gui.service
        print("torch" in sys.modules)
    """)
    assert out.strip() == "False"


def test_the_window_is_shown_before_torch_is_imported(tmp_path):
    out = _run(f"""
        import sys
        from mmstudio.gui.shell.app import create_application
        app = create_application()
        from mmstudio.gui.shell.main_window import MainWindow
        window = MainWindow(model={str(tmp_path)!r}, device="cpu")
        window.show()
        print("torch" in sys.modules)
        window.close()
    """)
    assert out.strip() == "False"
