"""The side-by-side panel after a swap, on a real screen, saved as a PNG (docs/swap.png).

    xvfb-run -a -s "-screen 0 1920x1080x24" python -m tests.gui.swap_screenshot docs/swap.png

The shipped digits model; the digits example image of a 7 with the text "seven", then the image
of a 3 swapped in from its file: the prediction follows the image from 7 to 3.
"""

from __future__ import annotations

import os
import sys
import tempfile

from PySide6.QtCore import QTimer

SETTLE_MS = 800


def main(path: str) -> int:
    # A private settings store: the screenshot must not depend on (or change) the user's.
    os.environ.setdefault("MMSTUDIO_SETTINGS_DIR", tempfile.mkdtemp(prefix="mmstudio-shot-"))
    from mmstudio.gui.inputs.examples import Example
    from mmstudio.gui.shell.app import create_application
    from mmstudio.gui.shell.launch import save_screenshot
    from mmstudio.gui.shell.main_window import MainWindow
    from mmstudio.resources import samples_dir

    app = create_application()
    window = MainWindow("digits", "cpu")
    window.resize(1900, 1000)
    folder = samples_dir()
    steps = {"loaded": False, "swapped": False}

    def on_ready(_info) -> None:
        if not steps["loaded"]:
            steps["loaded"] = True
            window.inputs.load_example(
                Example("a seven", folder / "digit_7.png", None, "seven", "7", "")
            )

    def on_shown(_request_id: int) -> None:
        if steps["loaded"] and not steps["swapped"]:
            steps["swapped"] = True
            window.swaps.swap_file(folder / "digit_3.png", "image")

    def on_swapped(_outcome) -> None:
        panel = window.side_by_side.panel
        panel.rendered.connect(lambda: QTimer.singleShot(SETTLE_MS, finish))

    def finish() -> None:
        save_screenshot(window, path)
        app.exit(0)

    window.model_ready.connect(on_ready)
    window.analysis_shown.connect(on_shown)
    window.swaps.swapped.connect(on_swapped)
    QTimer.singleShot(120_000, lambda: app.exit(3))  # never hang a headless run
    window.show()
    code = app.exec()
    window.close()
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "swap.png"))
