"""Scripted launches, for screenshots, benchmarks and demos: preset inputs, grab, quit.

``python -m mmstudio.gui --example "all agree: seven" --screenshot shot.png --quit-after-analysis``
drives the real window exactly as a person would see it. With ``--timings`` (or the environment
variable MMSTUDIO_GUI_TIMINGS=1, which also works through the ``mmstudio`` command) the app prints
wall-clock timestamps of its milestones, for a benchmark to subtract from its own launch time.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from mmstudio.gui.inputs.examples import find_example
from mmstudio.gui.inputs.mime import kind_of_path

TIMINGS_ENV = "MMSTUDIO_GUI_TIMINGS"
TIMING_PREFIX = "mmstudio-timing"
# Long enough for the heatmaps to be painted after the result arrives.
SETTLE_MS = 600


@dataclass
class LaunchOptions:
    example: str | None = None
    image: str | None = None
    text: str | None = None
    audio: str | None = None
    then_open: str | None = None
    # A dataset folder to analyse in the Dataset view once the model is ready; the screenshot
    # is then taken when its analysis has finished.
    dataset: str | None = None
    screenshot: str | None = None
    quit_after_analysis: bool = False
    size: tuple[int, int] | None = None
    timings: bool = False
    give_up_seconds: float = 120.0

    @classmethod
    def from_environment(cls) -> LaunchOptions:
        return cls(timings=os.environ.get(TIMINGS_ENV) == "1")

    @property
    def scripted(self) -> bool:
        return bool(self.screenshot or self.quit_after_analysis or self.timings)


def report(event: str) -> None:
    """``mmstudio-timing EVENT WALL_CLOCK CPU_SECONDS``: the CPU time (all threads) tells a busy
    machine's waiting apart from the app's own work."""
    print(f"{TIMING_PREFIX} {event} {time.time():.6f} {time.process_time():.3f}", flush=True)


class LaunchScript(QObject):
    def __init__(self, window, options: LaunchOptions) -> None:
        super().__init__(window)
        self.window = window
        self.options = options
        self.exit_code = 0
        self._analyses = 0
        self._finished = False
        window.analysis_shown.connect(self._on_analysis_shown)
        window.first_painted.connect(lambda: self._timing("window_shown"))
        window.model_ready.connect(lambda _info: self._timing("model_ready"))
        if options.dataset:
            window.model_ready.connect(self._open_dataset)
        self._preset_inputs()
        if options.scripted:
            # A missing model never produces an analysis: still deliver a picture of the window.
            QTimer.singleShot(int(options.give_up_seconds * 1000), self._give_up)

    def _timing(self, event: str) -> None:
        if self.options.timings:
            report(event)

    def _preset_inputs(self) -> None:
        window, options = self.window, self.options
        if options.example:
            example = find_example(options.example, window.examples)
            if example is None:
                names = ", ".join(e.name for e in window.examples) or "none"
                window.presenter.show_error(
                    f"there is no example named “{options.example}” (examples: {names})"
                )
            else:
                window.load_example(example)
        if options.image:
            window.inputs.image_input.load_path(options.image)
        if options.text is not None:
            window.inputs.text_input.set_text(options.text)
        if options.audio:
            window.inputs.audio_input.load_path(options.audio)

    def _open_dataset(self, _info) -> None:
        window = self.window
        window.model_ready.disconnect(self._open_dataset)
        window.open_dataset(self.options.dataset)
        job = window.dataset_mode.job
        job.finished.connect(lambda _progress: self._on_dataset_done())
        job.failed.connect(lambda _message: self._on_dataset_done())

    def _on_dataset_done(self) -> None:
        self._timing("dataset_analysed")
        # On the next turn: the Dataset view starts its follow-up checks (swap test,
        # faithfulness) from the same signal, and the picture should hold their results too.
        QTimer.singleShot(0, self._after_dataset)

    def _after_dataset(self) -> None:
        checks = self.window.dataset_mode.followup
        if checks is not None and not checks.done:
            for signal in (checks.finished, checks.failed, checks.cancelled):
                signal.connect(lambda *_: self._dataset_checked())
            return
        self._dataset_settled()

    def _dataset_checked(self) -> None:
        self._timing("dataset_checked")
        self._dataset_settled()

    def _dataset_settled(self) -> None:
        self._analyses += 1
        if self.options.screenshot or self.options.quit_after_analysis:
            QTimer.singleShot(SETTLE_MS, self._finish)

    def _on_analysis_shown(self, _request_id: int) -> None:
        if self.options.dataset:
            return  # the dataset's end, not a single analysis, ends a dataset launch
        self._analyses += 1
        if self._analyses == 1:
            self._timing("first_analysis")
            if self.options.then_open:
                self._open(self.options.then_open)
        if self.options.screenshot or self.options.quit_after_analysis:
            QTimer.singleShot(SETTLE_MS, self._finish)

    def _open(self, path: str) -> None:
        if kind_of_path(Path(path)) == "audio":
            self.window.inputs.audio_input.load_path(path)
        else:
            self.window.inputs.image_input.load_path(path)

    def _give_up(self) -> None:
        if not self._finished and self._analyses == 0:
            print("mmstudio: no analysis was shown; taking the screenshot anyway", file=sys.stderr)
            self.exit_code = 3
            self._finish()

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self.options.screenshot:
            save_screenshot(self.window, self.options.screenshot)
            self._timing("screenshot_saved")
        banner = self.window.error_banner
        if banner.isVisible():
            # Nobody watches a scripted window: what its banner says is said on the terminal too.
            print(f"mmstudio: the window shows an error: {banner.plain_text()}", file=sys.stderr)
        if self.options.quit_after_analysis or self.options.screenshot:
            QApplication.instance().exit(self.exit_code)


def save_screenshot(window, path: str) -> bool:
    QApplication.processEvents()
    screen = window.screen()
    picture = screen.grabWindow(window.winId()) if screen is not None else None
    if picture is None or picture.isNull():
        picture = window.grab()  # platforms without a screen to read back (offscreen)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return picture.save(str(path), "PNG")
