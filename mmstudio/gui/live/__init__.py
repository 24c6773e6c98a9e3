"""Live mode: webcam and microphone streamed through the fusion model.

Frames come from a QVideoSink (a camera's capture session, or a media player in tests), audio
from :mod:`mmstudio.audio`; the window's analysis service always analyses the newest of both and
drops the rest, and the view draws the last heatmap over the video at display rate.
"""

from .frames import FrameGrabber, LiveFrame
from .panel import LivePanel
from .prediction_log import PredictionLog
from .session import DEFAULT, LiveSession
from .task import LiveRequest, LiveResult
from .view import LiveView

__all__ = [
    "DEFAULT",
    "FrameGrabber",
    "LiveFrame",
    "LivePanel",
    "LiveRequest",
    "LiveResult",
    "LiveSession",
    "LiveView",
    "PredictionLog",
]
