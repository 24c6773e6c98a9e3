"""Playing a clip back: sounddevice when PortAudio has an output, else Qt Multimedia."""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QUrl, Signal

from mmstudio.inputs import AudioClip, save_wav


class Player(QObject):
    finished = Signal()
    error_occurred = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_finished)
        self._media = None
        self._temp: Path | None = None
        self.playing = False

    def play(self, clip: AudioClip) -> None:
        self.stop()
        try:
            import sounddevice

            sounddevice.play(clip.samples, clip.sample_rate)
        except Exception:
            # No PortAudio output (or no PortAudio at all): Qt Multimedia plays a temporary WAV.
            if not self._play_with_qt(clip):
                return
        self.playing = True
        self._timer.start(int(clip.duration * 1000) + 150)

    def stop(self) -> None:
        if not self.playing:
            return
        self._timer.stop()
        if self._media is not None:
            self._media[0].stop()
        else:
            try:
                import sounddevice

                sounddevice.stop()
            except Exception:
                pass
        self._on_finished()

    def _play_with_qt(self, clip: AudioClip) -> bool:
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
        except ImportError as error:
            self.error_occurred.emit(f"audio playback is unavailable: {error}")
            return False
        if self._temp is None:
            handle = tempfile.NamedTemporaryFile(prefix="mmstudio-", suffix=".wav", delete=False)
            handle.close()
            self._temp = Path(handle.name)
        save_wav(clip, self._temp)
        if self._media is None:
            output = QAudioOutput(self)
            player = QMediaPlayer(self)
            player.setAudioOutput(output)
            player.errorOccurred.connect(
                lambda _e, text: self.error_occurred.emit(f"playback failed: {text}")
            )
            self._media = (player, output)
        self._media[0].setSource(QUrl.fromLocalFile(str(self._temp)))
        self._media[0].play()
        return True

    def _on_finished(self) -> None:
        self.playing = False
        self.finished.emit()

    def close(self) -> None:
        self.stop()
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None
