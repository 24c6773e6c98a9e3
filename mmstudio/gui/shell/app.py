"""Starting the studio: the QApplication, the system palette, the main window."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication

import mmstudio
from mmstudio.gui.common.settings import APPLICATION, ORGANIZATION, redirect_from_environment
from mmstudio.gui.common.theme import apply_system_palette
from mmstudio.gui.shell.icon import DESKTOP_ID, application_icon
from mmstudio.gui.shell.launch import LaunchOptions, LaunchScript

# Python hands the GIL between threads every 5 ms by default; the model's Python-level work
# in the worker thread could then hold up each of the GUI thread's callbacks by that much.
GIL_SWITCH_SECONDS = 0.001


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("mmstudio")
    app.setApplicationVersion(mmstudio.__version__)
    app.setDesktopFileName(DESKTOP_ID)
    app.setWindowIcon(application_icon())
    redirect_from_environment()
    apply_system_palette(app)
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    return app


def run(
    model: str | None = None,
    device: str | None = None,
    *,
    argv: Sequence[str] | None = None,
    launch: LaunchOptions | None = None,
) -> int:
    """Open the studio window and run until it is closed; returns the exit code."""
    app = create_application(argv)
    from mmstudio.gui.shell.main_window import MainWindow  # after QApplication: widgets need it

    launch = launch or LaunchOptions.from_environment()
    window = MainWindow(model, device)
    script = LaunchScript(window, launch)
    if launch.size:
        window.resize(*launch.size)
    window.show()
    code = app.exec()
    window.close()  # a scripted exit skips closeEvent; the worker thread must still stop
    return code or script.exit_code
