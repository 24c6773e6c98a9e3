"""A webcam feeding a FrameGrabber: QCamera -> QMediaCaptureSession -> QVideoSink."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtMultimedia import (
    QCamera,
    QCameraDevice,
    QCameraFormat,
    QMediaCaptureSession,
    QMediaDevices,
)

from .frames import FrameGrabber

# Analysis never looks at more than 320 px, so a 4K stream would only cost decoding time.
PREFERRED_SIZE = (640, 480)


def list_cameras() -> list[QCameraDevice]:
    return list(QMediaDevices.videoInputs())


def default_camera() -> QCameraDevice | None:
    device = QMediaDevices.defaultVideoInput()
    return None if device.isNull() else device


class CameraFeed(QObject):
    """Runs one camera into ``grabber``. ``failed(message)`` reports errors, such as an unplugged
    camera, while streaming; :meth:`start` returns a message instead of raising."""

    failed = Signal(str)

    def __init__(self, grabber: FrameGrabber, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.grabber = grabber
        self.device: QCameraDevice | None = None
        self.camera: QCamera | None = None
        self._session: QMediaCaptureSession | None = None
        self._devices = QMediaDevices(self)
        self._devices.videoInputsChanged.connect(self._on_devices_changed)

    @property
    def active(self) -> bool:
        return self.camera is not None and self.camera.isActive()

    def start(self, device: QCameraDevice) -> str | None:
        """Start streaming from ``device``; returns why it cannot, or None."""
        self.stop()
        if device is None or device.isNull():
            return "no camera was found"
        camera = QCamera(device)
        if camera.error() != QCamera.Error.NoError:
            return f"the camera '{device.description()}' cannot be used: {camera.errorString()}"
        best = _closest_format(device)
        if best is not None:
            camera.setCameraFormat(best)
        camera.errorOccurred.connect(self._on_error)
        session = QMediaCaptureSession(self)
        session.setCamera(camera)
        session.setVideoSink(self.grabber.sink)
        self.device, self.camera, self._session = device, camera, session
        camera.start()
        return None

    def stop(self) -> None:
        camera, session = self.camera, self._session
        self.camera = self._session = None
        if camera is not None:
            camera.errorOccurred.disconnect(self._on_error)
            camera.stop()
        if session is not None:
            # The sink belongs to the grabber and outlives this session.
            session.setVideoSink(None)
            session.setCamera(None)
            session.deleteLater()
        if camera is not None:
            camera.deleteLater()
        self.grabber.release()

    @Slot(QCamera.Error, str)
    def _on_error(self, error: QCamera.Error, text: str) -> None:
        name = self.device.description() if self.device is not None else "the camera"
        self.stop()
        self.failed.emit(f"the camera '{name}' stopped: {text or error.name}")

    @Slot()
    def _on_devices_changed(self) -> None:
        if self.camera is None or self.device is None:
            return
        ids = {bytes(device.id()) for device in QMediaDevices.videoInputs()}
        if bytes(self.device.id()) not in ids:
            name = self.device.description()
            self.stop()
            self.failed.emit(f"the camera '{name}' was disconnected")


def _closest_format(device: QCameraDevice) -> QCameraFormat | None:
    formats = list(device.videoFormats())
    if not formats:
        return None
    width, height = PREFERRED_SIZE

    def distance(fmt: QCameraFormat) -> tuple[int, float]:
        size = fmt.resolution()
        return abs(size.width() * size.height() - width * height), -fmt.maxFrameRate()

    return min(formats, key=distance)
