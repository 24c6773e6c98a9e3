"""Live mode end to end: the same QVideoSink code a webcam uses, fed by a QMediaPlayer playing a
video made here; the microphone path through a PulseAudio virtual microphone; latest-wins under
a slow model; missing and failing devices; snapshot; the CSV log; a generative model answering
the typed question about the frames and the microphone, one answer at a time."""

from __future__ import annotations

import csv
import gc
import io
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from tests.conftest import require_module, require_or_skip  # noqa: E402

QtMultimedia = require_module("PySide6.QtMultimedia")

from PySide6.QtCore import QRectF, Qt, QTimer, QUrl  # noqa: E402
from PySide6.QtGui import QColor, QFont, QImage, QPainter  # noqa: E402
from PySide6.QtMultimedia import QCamera, QCameraDevice, QMediaPlayer, QVideoFrame  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget  # noqa: E402

from mmstudio.gui.live import LivePanel  # noqa: E402
from mmstudio.gui.live.permissions import request_permissions  # noqa: E402
from mmstudio.gui.live.prediction_log import COLUMNS  # noqa: E402
from mmstudio.resources import default_model_dir  # noqa: E402
from tests.core.helpers import tiny_model  # noqa: E402
from tests.gui.virtual_microphone import play_into, spoken  # noqa: E402

pytestmark = pytest.mark.gui

DIGITS_WEIGHTS = default_model_dir() / "model.safetensors"
VIDEO_DIGITS = (3, 7, 1, 8)
SECONDS_PER_DIGIT = 1.0
VIDEO_FPS = 15


# ---- a video file made in the test: MJPEG frames in a hand-written AVI container ------------------
#
# Qt Multimedia's bundled FFmpeg plays MJPEG-in-AVI, and both halves can be written with PIL and
# struct alone, so the test needs no video library. The layout is the classic AVI 1.0 one:
#   RIFF 'AVI ' [ LIST 'hdrl' [avih, LIST 'strl' [strh, strf]], LIST 'movi' [00dc...], idx1 ]


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _list(kind: bytes, body: bytes) -> bytes:
    return _chunk(b"LIST", kind + body)


def write_mjpeg_avi(path: Path, frames: list[Image.Image], fps: int) -> Path:
    jpegs = []
    for frame in frames:
        buffer = io.BytesIO()
        frame.save(buffer, "JPEG", quality=90)
        jpegs.append(buffer.getvalue())
    width, height = frames[0].size
    count, biggest = len(jpegs), max(map(len, jpegs))
    has_index = 0x10
    main_header = struct.pack(
        "<14I",
        1_000_000 // fps,
        biggest * fps,
        0,
        has_index,
        count,
        0,
        1,
        biggest,
        width,
        height,
        0,
        0,
        0,
        0,
    )
    # Stream rate is dwRate / dwScale frames per second.
    stream_header = struct.pack(
        "<4s4sIHHIIIIIIIIhhhh",
        b"vids",
        b"MJPG",
        0,
        0,
        0,
        0,
        1,
        fps,
        0,
        count,
        biggest,
        0xFFFFFFFF,
        0,
        0,
        0,
        width,
        height,
    )
    bitmap_info = struct.pack(
        "<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0
    )
    header_list = _list(
        b"hdrl",
        _chunk(b"avih", main_header)
        + _list(b"strl", _chunk(b"strh", stream_header) + _chunk(b"strf", bitmap_info)),
    )
    movie, index = b"", b""
    keyframe = 0x10
    for jpeg in jpegs:
        # idx1 offsets count from the 'movi' fourcc, which sits 4 bytes before the first chunk.
        index += struct.pack("<4sIII", b"00dc", keyframe, 4 + len(movie), len(jpeg))
        movie += _chunk(b"00dc", jpeg)
    body = b"AVI " + header_list + _list(b"movi", movie) + _chunk(b"idx1", index)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def _digit_font(size: int) -> ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "FreeSansBold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    for path in Path("/usr/share/fonts").rglob("*.ttf"):
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def digit_frame(digit: int, size=(320, 240), jitter: int = 0) -> Image.Image:
    image = Image.new("RGB", size, (245, 245, 240))
    draw = ImageDraw.Draw(image)
    # The ink fills about 70% of the height: once the 4:3 frame is letterboxed into the model's
    # 64 px square, the digit is ~35 px tall, inside the 30-56 px range the model trained on.
    draw.text(
        (size[0] // 2 + jitter, size[1] // 2),
        str(digit),
        fill=(20, 20, 20),
        font=_digit_font(size[1]),
        anchor="mm",
    )
    return image


@pytest.fixture(scope="module")
def digit_video(tmp_path_factory) -> Path:
    per_digit = int(SECONDS_PER_DIGIT * VIDEO_FPS)
    frames = [digit_frame(d, jitter=(i % 5) - 2) for d in VIDEO_DIGITS for i in range(per_digit)]
    return write_mjpeg_avi(tmp_path_factory.mktemp("video") / "digits.avi", frames, VIDEO_FPS)


# ---- synthetic frames, for tests that need exact control of the frame rate -----------------------


class SyntheticCamera:
    """Pushes QVideoFrames into a sink from a timer, like a camera driver would."""

    def __init__(self, sink, interval_ms: int = 33, size=(320, 240)) -> None:
        self.sink = sink
        self.images = [_qimage_digit(d, size) for d in range(10)]
        self.sent = 0
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)

    def tick(self) -> None:
        frame = QVideoFrame(self.images[(self.sent // 10) % 10])
        frame.setStartTime(self.sent * self.timer.interval() * 1000)
        self.sent += 1
        self.sink.setVideoFrame(frame)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()


def _qimage_digit(digit: int, size) -> QImage:
    image = QImage(size[0], size[1], QImage.Format.Format_RGB32)
    image.fill(QColor(240, 240, 240))
    painter = QPainter(image)
    font = QFont()
    font.setPixelSize(int(size[1] * 0.7))
    painter.setFont(font)
    painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter, str(digit))
    painter.end()
    return image


# ---- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def random_model_dir(tmp_path_factory) -> Path:
    from mmstudio.models import save_checkpoint

    return save_checkpoint(tiny_model("attention"), tmp_path_factory.mktemp("model") / "random")


class Text:
    """What the main window's text box holds; the panel reads it through a getter."""

    def __init__(self, value: str = "") -> None:
        self.value = value

    def __call__(self) -> str:
        return self.value


@pytest.fixture
def make_panel(qtbot, random_model_dir):
    panels = []

    def make(text: str = "", model=None, camera=None, microphone=None, options=None) -> LivePanel:
        getter = (lambda: options) if options is not None else None
        panel = LivePanel(Text(text), model or random_model_dir, generation_options=getter)
        qtbot.addWidget(panel)
        panel.resize(900, 500)
        panel.show()
        panel.session.camera_choice = camera
        panel.session.microphone_choice = microphone
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.shutdown()
        assert not panel.service.is_running()
        assert gc.isenabled()  # live mode hands garbage collection back when it stops
        panel.deleteLater()
    # Free this test's Qt wrappers here, on the GUI thread, not in the next test's worker.
    gc.collect()


def collect_results(panel: LivePanel) -> list:
    shown = []
    panel.session.result_shown.connect(
        lambda result, latency: shown.append((result, latency, panel.session.grabber.frames_seen))
    )
    return shown


def go_live(qtbot, panel: LivePanel) -> None:
    """Press Live and wait until the worker has its model, failing with the reason if it cannot."""
    ready = []
    panel.session.model_ready.connect(lambda name: ready.append(name))
    panel.live_action.trigger()
    assert panel.session.running
    qtbot.waitUntil(lambda: bool(ready) or "model" in panel.session._problems, timeout=60_000)
    assert "model" not in panel.session._problems, panel.session._problems["model"]


def play(qtbot, video: Path, sink) -> QMediaPlayer:
    player = QMediaPlayer()
    player.setVideoSink(sink)
    errors = []
    player.errorOccurred.connect(lambda error, text: errors.append(text))
    player.setSource(QUrl.fromLocalFile(str(video)))
    player.play()
    qtbot.waitUntil(
        lambda: errors or player.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia,
        timeout=30_000,
    )
    assert not errors, errors
    return player


# ---- the webcam path, fed by a video file --------------------------------------------------------


def test_video_frames_reach_the_model_through_the_video_sink(qtbot, make_panel, digit_video):
    panel = make_panel()
    session = panel.session
    shown = collect_results(panel)
    go_live(qtbot, panel)
    assert session.running and panel.snapshot_action.isEnabled()

    player = play(qtbot, digit_video, session.grabber.sink)
    qtbot.waitUntil(lambda: len(shown) >= 5, timeout=10_000)
    player.stop()

    expected_frames = len(VIDEO_DIGITS) * SECONDS_PER_DIGIT * VIDEO_FPS
    assert session.frames_captured >= 0.8 * expected_frames
    assert panel.view.frames_shown >= 0.8 * expected_frames
    assert panel.view.frame_item.paints > 0
    framed = [(r, latency, newest) for r, latency, newest in shown if r.frame_id is not None]
    assert len(framed) >= 5
    for result, latency_ms, newest in framed:
        assert 1 <= result.frame_id <= newest
        assert result.analysis.present == ["image"]
        assert result.image_size[0] <= 320 and latency_ms > 0
    # The heatmap is drawn over the frame, stretched to the frame as displayed.
    heatmap = framed[-1][0].analysis.image_heatmap
    overlay = panel.view.overlay_item.image
    assert (overlay.height(), overlay.width()) == heatmap.shape
    drawn = panel.view.overlay_item.mapRectToParent(panel.view.overlay_item.boundingRect())
    assert drawn == QRectF(0, 0, *panel.view.frame_size)
    qtbot.waitUntil(lambda: "analyses/s" in panel.view.stats.text(), timeout=2000)
    assert "latency" in panel.view.stats.text() and "dropped" in panel.view.stats.text()
    panel.live_action.trigger()
    assert not session.running


@pytest.mark.slow
def test_predictions_follow_the_digits_in_the_video(qtbot, make_panel, digit_video):
    require_or_skip(
        DIGITS_WEIGHTS.is_file(),
        f"the trained default model is not there yet ({DIGITS_WEIGHTS} is missing); "
        "frames and analyses are covered by the test above",
    )
    panel = make_panel(model="digits")
    shown = collect_results(panel)
    go_live(qtbot, panel)
    play(qtbot, digit_video, panel.session.grabber.sink)
    qtbot.wait(300)

    judged, correct, seen = 0, 0, set()
    for result, _, _ in shown:
        if result.media_time_us is None:  # analysed before the first frame arrived: text only
            continue
        position = result.media_time_us / 1e6 / SECONDS_PER_DIGIT
        if result.analysis is None or abs(position - round(position)) < 0.1:
            continue  # right at a cut, the decoder and the frame clock may disagree by a frame
        shown_digit = str(VIDEO_DIGITS[min(int(position), len(VIDEO_DIGITS) - 1)])
        judged += 1
        correct += result.analysis.predicted_label == shown_digit
        seen.add(result.analysis.predicted_label)
    assert judged >= 8
    assert correct / judged >= 0.8, (
        f"{correct} of {judged} live predictions matched the digit shown"
    )
    assert {str(d) for d in VIDEO_DIGITS} <= seen


# ---- latest wins --------------------------------------------------------------------------------


def test_a_slow_model_drops_frames_instead_of_queueing_them(qtbot, make_panel):
    panel = make_panel(text="maybe a seven")
    session = panel.session
    shown = collect_results(panel)
    camera = SyntheticCamera(session.grabber.sink, interval_ms=10)
    go_live(qtbot, panel)
    qtbot.waitUntil(lambda: len(shown) >= 1, timeout=15_000)  # model loaded
    delay_s = 0.12  # every analysis now takes > 12 frame intervals
    analyzer = panel.service.analyzer
    analyze = analyzer.analyze

    def slow(sample):
        time.sleep(delay_s)
        return analyze(sample)

    analyzer.analyze = slow
    first_slow = len(shown)
    camera.start()
    qtbot.wait(2500)
    camera.stop()
    qtbot.wait(400)

    slow = [
        (r, latency, newest) for r, latency, newest in shown[first_slow:] if r.frame_id is not None
    ]
    assert len(slow) >= 5
    # One request waits at most: the live lane holds the newest frame only.
    assert session.max_pending <= 1
    # Most frames were dropped, and every frame was either dropped or analysed (or is in flight).
    analysed = len({r.frame_id for r, _, _ in shown if r.frame_id is not None})
    assert session.frames_dropped >= 0.7 * session.frames_captured
    assert session.frames_captured - session.frames_dropped - analysed <= 2
    # Each result is of a frame that was new when the worker took it: no backlog builds up.
    # Counted in frames the camera sent meanwhile, not in seconds of latency.
    interval = camera.timer.interval() / 1000
    for result, _, newest in slow:
        assert (newest - result.frame_id) * interval <= delay_s + 0.4
    ids = [r.frame_id for r, _, _ in slow]
    assert ids == sorted(ids)


# ---- the microphone path, through a PulseAudio virtual microphone ----------------------------------


def speak_into_live(qtbot, panel: LivePanel, word: str, sink: str, folder: Path) -> list:
    """Go live on the microphone, check that the quiet room is held absent, say ``word``, and
    return the results from the moment the gate opened until it closed again."""
    session = panel.session
    shown = collect_results(panel)
    go_live(qtbot, panel)
    assert session.microphone is not None, session._problems
    qtbot.waitUntil(lambda: len(shown) >= 5, timeout=15_000)
    assert all(
        r.analysis is None and r.audio is not None and not r.audio.voiced for r, _, _ in shown
    )

    speaker = play_into(sink, spoken(word, folder))
    try:
        qtbot.waitUntil(lambda: any(r.analysis is not None for r, _, _ in shown), timeout=10_000)
    except qtbot.TimeoutError:
        microphone = session.microphone
        pytest.fail(
            f"the spoken word never opened the gate: paplay exit {speaker.poll()} "
            f"({speaker.stderr.read() if speaker.poll() is not None else 'still playing'}), "
            f"microphone problem {microphone and microphone.problem()!r}, samples recorded "
            f"{microphone and microphone.buffer.total_written}, loudest window "
            f"{max((r.audio.level_db for r, _, _ in shown if r.audio), default=None)} dBFS, "
            f"{len(shown)} results, session problems {session._problems!r}"
        )
    speaker.wait(timeout=10)
    # Once the word has slid out of the window, the gate closes and audio is absent again.
    first_voiced = next(i for i, (r, _, _) in enumerate(shown) if r.analysis is not None)
    qtbot.waitUntil(
        lambda: len(shown) > first_voiced + 2 and shown[-1][0].analysis is None,
        timeout=session.window_seconds * 1000 + 5000,
    )
    assert session._problems == {}
    return [r for r, _, _ in shown[first_voiced:] if r.analysis is not None]


@pytest.mark.system
def test_speech_opens_the_gate_and_silence_keeps_audio_absent(
    qtbot, make_panel, virtual_microphone, tmp_path
):
    panel = make_panel(microphone="default")
    voiced = speak_into_live(qtbot, panel, "seven", virtual_microphone, tmp_path)
    assert voiced and all(r.analysis.present == ["audio"] and r.audio.voiced for r in voiced)
    assert max(r.audio.level_db for r in voiced) > panel.session.gate.threshold_db
    assert "Microphone" in panel.view.level.format()


@pytest.mark.system
@pytest.mark.slow
def test_a_spoken_digit_is_recognised_live(qtbot, make_panel, virtual_microphone, tmp_path):
    require_or_skip(
        DIGITS_WEIGHTS.is_file(),
        f"the trained default model is not there yet ({DIGITS_WEIGHTS} is missing); "
        "the microphone path is covered by the test above",
    )
    panel = make_panel(model="digits", microphone="default")
    labels = [
        r.analysis.predicted_label
        for r in speak_into_live(qtbot, panel, "seven", virtual_microphone, tmp_path)
    ]
    # While the word enters and leaves the window the model hears part of it; in between, with
    # all of it in the window, it should hear a seven.
    assert max(set(labels), key=labels.count) == "7", labels


def test_an_unplugged_microphone_gives_a_message_not_a_crash(qtbot, make_panel, monkeypatch):
    panel = make_panel(text="seven")
    session = panel.session
    shown = collect_results(panel)
    go_live(qtbot, panel)

    class Vanishing:
        """Stands in for a stream whose device PortAudio reports gone."""

        sample_rate = 16000
        stopped = False

        def problem(self):
            return "Fake USB mic stopped delivering audio (was it unplugged?)"

        def latest(self, count):
            return np.zeros(0, np.float32)

        def stop(self):
            self.stopped = True

    vanishing = Vanishing()
    session.microphone = vanishing
    qtbot.waitUntil(lambda: "unplugged" in panel.view.message.text(), timeout=3000)
    assert vanishing.stopped and session.microphone is None and session.running
    count = len(shown)
    qtbot.waitUntil(lambda: len(shown) > count + 2, timeout=10_000)  # the typed text goes on
    assert shown[-1][0].analysis.present == ["text"]


# ---- missing and failing devices ---------------------------------------------------------------


def test_missing_camera_and_microphone_are_reported_and_text_still_runs(qtbot, make_panel):
    panel = make_panel(text="seven", camera=QCameraDevice(), microphone="no such microphone 4711")
    messages = []
    panel.message.connect(lambda text, kind: messages.append(text))
    shown = collect_results(panel)
    go_live(qtbot, panel)
    assert panel.session.running
    text = panel.view.message.text()
    assert "no camera" in text and "microphone" in text and "typed text" in text
    assert messages and messages[-1] == text
    qtbot.waitUntil(lambda: len(shown) >= 3, timeout=15_000)
    assert all(r.analysis.present == ["text"] for r, _, _ in shown)


def test_a_camera_error_mid_stream_gives_a_message_not_a_crash(qtbot, make_panel):
    panel = make_panel(text="seven")
    session = panel.session
    shown = collect_results(panel)
    go_live(qtbot, panel)
    qtbot.waitUntil(lambda: len(shown) >= 1, timeout=15_000)
    # No camera exists here, so stand a null one in and have it fail as an unplugged one does.
    feed = session.camera
    feed.device, feed.camera = QCameraDevice(), QCamera(QCameraDevice())
    feed.camera.errorOccurred.connect(feed._on_error)
    feed.camera.errorOccurred.emit(QCamera.Error.CameraError, "the device was disconnected")
    assert "disconnected" in panel.view.message.text()
    assert session.running and feed.camera is None
    count = len(shown)
    qtbot.waitUntil(lambda: len(shown) > count + 2, timeout=10_000)


def test_permissions_are_granted_on_this_platform(qtbot, qapp):
    answers = []
    request_permissions(
        qapp, True, True, lambda camera, microphone: answers.append((camera, microphone))
    )
    qtbot.waitUntil(lambda: bool(answers), timeout=5000)
    assert answers == [(True, True)]


# ---- keyboard ------------------------------------------------------------------------------------


def test_f5_toggles_live_and_space_snapshots_without_stealing_typed_spaces(qtbot, random_model_dir):
    window = QWidget()
    layout = QVBoxLayout(window)
    editor = QLineEdit()
    panel = LivePanel(editor.text, random_model_dir)
    panel.session.camera_choice = panel.session.microphone_choice = None
    layout.addWidget(editor)
    layout.addWidget(panel)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    require_or_skip(
        QTest.qWaitForWindowActive(window, 3000),
        "this platform plugin does not activate windows, so no shortcut can fire",
    )
    snapshots = []
    panel.snapshot.connect(snapshots.append)
    try:
        QTest.keyClick(window, Qt.Key.Key_F5)
        assert panel.session.running and panel.live_action.isChecked()
        editor.setFocus()
        QTest.keyClicks(editor, "a b")
        assert editor.text() == "a b" and not snapshots  # a space typed in a text box stays a space
        panel.view.video.setFocus()
        QTest.keyClick(panel.view.video, Qt.Key.Key_Space)
        assert len(snapshots) == 1 and snapshots[0].text == "a b"
        assert not panel.session.running  # the snapshot froze live mode
        QTest.keyClick(window, Qt.Key.Key_F5)
        assert panel.session.running
        QTest.keyClick(window, Qt.Key.Key_F5)
        assert not panel.session.running
    finally:
        panel.shutdown()


# ---- snapshot and log ----------------------------------------------------------------------------


def test_snapshot_freezes_the_frame_and_text_for_the_analysis_view(qtbot, make_panel):
    panel = make_panel(text="I see a four")
    shown = collect_results(panel)
    camera = SyntheticCamera(panel.session.grabber.sink, size=(640, 480))
    go_live(qtbot, panel)
    camera.start()
    qtbot.waitUntil(lambda: len(shown) >= 2, timeout=15_000)
    with qtbot.waitSignal(panel.snapshot, timeout=3000) as snapshot:
        panel.snapshot_action.trigger()
    camera.stop()
    sample = snapshot.args[0]
    assert (
        sample.image.size == (640, 480) and sample.text == "I see a four" and sample.audio is None
    )
    assert not panel.session.running and not panel.live_action.isChecked()
    assert not panel.snapshot_action.isEnabled()


def test_prediction_log_is_saved_as_csv(qtbot, make_panel, tmp_path):
    panel = make_panel(text="seven")
    shown = collect_results(panel)
    camera = SyntheticCamera(panel.session.grabber.sink)
    panel.log_box.setChecked(True)
    go_live(qtbot, panel)
    camera.start()
    qtbot.waitUntil(lambda: len(shown) >= 4, timeout=15_000)
    camera.stop()
    panel.live_action.trigger()
    path = panel.save_log(tmp_path / "live.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) >= 4
    # Before the first frame arrives, the typed text is analysed on its own.
    assert {row["present"] for row in rows} <= {"text", "image+text"}
    assert any(row["present"] == "image+text" for row in rows)
    for row in rows:
        assert row["label"] in [str(i) for i in range(10)]
        assert 0 < float(row["probability"]) <= 1
        assert row["shapley_audio"] == ""  # absent, which is not the same as zero
        assert (row["shapley_image"] == "") == ("image" not in row["present"])
        float(row["shapley_text"])


# ---- the live thread survives torch being imported in it first -----------------------------------

_TORCH_FIRST_IN_LIVE_THREAD = """
import os, sys, faulthandler
os.environ["QT_QPA_PLATFORM"] = "offscreen"
faulthandler.dump_traceback_later(100, exit=True)
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from mmstudio.gui.live import LivePanel
assert "torch" not in sys.modules
panel = LivePanel(lambda: "seven", sys.argv[1])
panel.session.camera_choice = panel.session.microphone_choice = None
shown = []
panel.session.result_shown.connect(lambda result, latency: shown.append(result))
panel.live_action.trigger()
loop = QEventLoop()
timer = QTimer(); timer.timeout.connect(lambda: len(shown) >= 3 and loop.quit()); timer.start(50)
loop.exec()
panel.shutdown()
print("analyses:", len(shown))
"""


@pytest.mark.slow
def test_torch_imported_first_in_the_live_thread_does_not_freeze_the_app(random_model_dir):
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", _TORCH_FIRST_IN_LIVE_THREAD, str(random_model_dir)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=150,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "analyses: 3" in result.stdout


# ---- a generative model: the typed question about the frame and the microphone ------------------

QUESTION = "what is this ?"


class SpeakingMicrophone:
    """Stands in for a microphone stream (as the unplugged one above does): a loud tone, so the
    voice gate is open and every answer hears audio. The real microphone path has its own test."""

    sample_rate = 16000

    def latest(self, count: int) -> np.ndarray:
        t = np.arange(count) / self.sample_rate
        return (0.4 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)

    def problem(self) -> None:
        return None

    def stop(self) -> None:
        pass


@pytest.fixture
def omni_dir(tiny_model_folders) -> Path:
    """The tiny random Qwen2.5-Omni thinker: image, audio and text, as digits-chat takes them."""
    return tiny_model_folders["qwen25_omni_thinker"]


def attach_microphone(session) -> SpeakingMicrophone:
    from mmstudio.audio import GatedWindow

    microphone = SpeakingMicrophone()
    session.microphone = microphone
    session.audio_window = GatedWindow(microphone, session.window_seconds, session.gate)
    return microphone


def answers_of(shown: list) -> list:
    return [(r, latency, newest) for r, latency, newest in shown if r.analysis is not None]


def test_a_generative_model_answers_about_the_frames_and_the_microphone_in_order(
    qtbot, make_panel, omni_dir
):
    from mmstudio.gui.results.answer_tokens import share_legend
    from mmstudio.models.generative.options import GenerationOptions
    from mmstudio.result import GenerationAnalysis

    panel = make_panel(text=QUESTION, model=omni_dir, options=GenerationOptions(max_new_tokens=5))
    session = panel.session
    shown = collect_results(panel)
    camera = SyntheticCamera(session.grabber.sink)
    go_live(qtbot, panel)
    assert session.generates
    attach_microphone(session)
    camera.start()
    qtbot.waitUntil(
        lambda: sum(r.frame_id is not None for r, _, _ in answers_of(shown)) >= 3, timeout=60_000
    )
    camera.stop()

    framed = [(r, newest) for r, _, newest in answers_of(shown) if r.frame_id is not None]
    for result, newest in framed:
        analysis = result.analysis
        assert isinstance(analysis, GenerationAnalysis)
        assert analysis.present == ["image", "text", "audio"] and analysis.prompt == QUESTION
        assert analysis.token_count == 5 and analysis.finished == "length"
        assert result.audio.voiced and 1 <= result.frame_id <= newest
        # Explained per token as the single-shot path explains it: exact Shapley values.
        values = analysis.token_coalition_logprobs
        assert values.shape == (8, 5) and analysis.token_shapley.shape == (5, 3)
        np.testing.assert_allclose(values[0] + analysis.token_shapley.sum(1), values[-1], atol=1e-9)
    # In order, each of a newer frame; tickets in order, one answer at a time.
    assert [r.frame_id for r, _ in framed] == sorted({r.frame_id for r, _ in framed})
    tickets = [r.ticket for r, _, _ in shown if r.ticket is not None]
    assert tickets == sorted(set(tickets))

    # The view shows the last answer with its per-token modality shares, as the answer view does.
    last = shown[-1][0].analysis
    view = panel.view
    assert view.answer.isVisible() and not view.prediction.isVisible()
    assert view.answer.pieces == last.answer_tokens
    np.testing.assert_allclose(view.answer.shares, last.modality_shares())
    assert view.answer.modalities == last.modalities
    assert view.answer_legend.text() == share_legend(last.present)
    assert QUESTION in view.question.text() and "5 tokens" in view.probability.text()
    widths = view.bars.opts["width"]
    assert np.allclose(sorted(widths), sorted(np.abs(last.answer_shapley)))
    assert view.overlay_item.image is not None  # the answer's map over the image, on the frame
    qtbot.waitUntil(lambda: "answers/s" in view.stats.text(), timeout=3000)
    assert "skipped" in view.stats.text()
    panel.live_action.trigger()
    assert not session.running and not view.answer.isVisible()


def test_a_generative_model_skips_ticks_while_it_answers_instead_of_queueing_them(
    qtbot, make_panel, omni_dir
):
    from mmstudio.models.generative.options import GenerationOptions

    panel = make_panel(text=QUESTION, model=omni_dir, options=GenerationOptions(max_new_tokens=3))
    session, service = panel.session, panel.service
    shown = collect_results(panel)
    camera = SyntheticCamera(session.grabber.sink, interval_ms=10)
    go_live(qtbot, panel)
    analyzer = service.analyzer
    generate = analyzer.generate
    delay_s = 0.15  # every answer now takes more than 15 frame intervals

    def slow(*args, **kwargs):
        time.sleep(delay_s)
        return generate(*args, **kwargs)

    analyzer.generate = slow
    replaced_before = service.lanes.live.replaced
    camera.start()
    qtbot.waitUntil(
        lambda: sum(r.frame_id is not None for r, _, _ in answers_of(shown)) >= 4, timeout=60_000
    )
    camera.stop()
    qtbot.waitUntil(lambda: not session.pacing.busy, timeout=30_000)

    # Nothing ever waited in the live lane: the ticks that came meanwhile were skipped.
    assert service.lanes.live.replaced == replaced_before
    assert session.ticks_skipped >= 10 and session.max_pending <= 1
    framed = [r.frame_id for r, _, _ in answers_of(shown) if r.frame_id is not None]
    # Each answer is of a frame that came after the previous answer's, frames between skipped.
    assert all(b - a > 1 for a, b in zip(framed, framed[1:], strict=False))
    analysed = len({r.frame_id for r, _, _ in shown if r.frame_id is not None})
    assert session.frames_captured - session.frames_dropped - analysed == 0
    assert session.frames_dropped >= 0.7 * session.frames_captured


def test_stopping_live_mode_stops_the_answer_at_its_next_token(qtbot, make_panel, omni_dir):
    from mmstudio.models.generative.options import GenerationOptions

    limit = 64
    panel = make_panel(
        text=QUESTION, model=omni_dir, options=GenerationOptions(max_new_tokens=limit)
    )
    session, service = panel.session, panel.service
    shown = collect_results(panel)
    go_live(qtbot, panel)
    model = service.analyzer.model
    generate = model.generate
    slow = [True]
    began, ended = [], []

    def slowly(sample, options, *, on_token=None, should_stop=None, coalition=None):
        if coalition is not None:
            return generate(
                sample, options, on_token=on_token, should_stop=should_stop, coalition=coalition
            )

        def step() -> bool:  # asked between tokens: a slow decode step
            if slow[0]:
                time.sleep(0.03)
            return should_stop() if should_stop is not None else False

        began.append(len(ended))
        answer = generate(sample, options, on_token=on_token, should_stop=step)
        ended.append(answer)
        return answer

    model.generate = slowly
    count = len(began)
    qtbot.waitUntil(lambda: len(began) > count, timeout=30_000)  # an answer is being generated
    shown_before = len(shown)
    panel.live_action.trigger()
    assert not session.running
    qtbot.waitUntil(lambda: len(ended) > count, timeout=30_000)
    stopped = ended[count]
    assert stopped.finished == "stopped" and len(stopped.token_ids) < limit
    qtbot.waitUntil(
        lambda: service.live_runs >= count + 1 and not len(service.lanes.live), timeout=30_000
    )
    qtbot.wait(100)
    assert len(shown) == shown_before  # the stopped answer is not shown

    # Going live again answers in full: the stop was for the answer that was running only.
    slow[0] = False
    go_live(qtbot, panel)
    qtbot.waitUntil(
        lambda: any(r.analysis is not None for r, _, _ in shown[shown_before:]), timeout=60_000
    )
    answer = next(r.analysis for r, _, _ in shown[shown_before:] if r.analysis is not None)
    assert answer.finished == "length" and answer.token_count == limit
    assert answer.token_shapley is not None
