"""Camera and microphone permission, asked the way each platform wants.

macOS and Windows (and sandboxed Linux) show a system prompt and answer later, so the answer
arrives through a callback; elsewhere Qt reports the permission as granted at once.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCameraPermission, QCoreApplication, QMicrophonePermission, QObject, Qt

Granted = Qt.PermissionStatus.Granted
Undetermined = Qt.PermissionStatus.Undetermined


def request_permissions(
    context: QObject,
    camera: bool,
    microphone: bool,
    done: Callable[[bool, bool], None],
) -> None:
    """Call ``done(camera_allowed, microphone_allowed)`` once every needed answer is known.

    ``context`` bounds the callback's lifetime: if it is destroyed first, Qt drops the answer.
    """
    app = QCoreApplication.instance()
    wanted = {
        "camera": (camera, QCameraPermission()),
        "microphone": (microphone, QMicrophonePermission()),
    }
    answers: dict[str, bool] = {}
    pending: list[str] = []
    for name, (needed, permission) in wanted.items():
        if not needed:
            answers[name] = False
            continue
        status = app.checkPermission(permission) if app is not None else Granted
        if status == Undetermined:
            pending.append(name)
        else:
            answers[name] = status == Granted

    def finish_if_complete() -> None:
        if len(answers) == len(wanted):
            done(answers["camera"], answers["microphone"])

    if not pending:
        finish_if_complete()
        return
    for name in pending:

        def answered(permission, name=name) -> None:
            answers[name] = permission.status() == Granted
            finish_if_complete()

        app.requestPermission(wanted[name][1], context, answered)
