"""The answer view with an answered question and one token selected, on a real screen, saved
as a PNG.

    xvfb-run -a -s "-screen 0 1920x1080x24" python -m tests.gui.answer_screenshot answer.png [MODEL]

MODEL is a Hugging Face generative model folder, ``digits-chat`` (the shipped model, asked what
the sample digit 7 and the spoken "three" add up to, the whole answer explained: no token
selected), or the name of a tiny family of tests/generative/tiny_models.py (llava by default),
built in a temporary folder: its answer is random words, so the picture shows the view, not a
model. The question has an image, the text and, for a model that hears, a tone.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer

SETTLE_MS = 800
SELECTED_TOKEN = 2


def main(path: str, model: str = "llava") -> int:
    os.environ.setdefault("MMSTUDIO_SETTINGS_DIR", tempfile.mkdtemp(prefix="mmstudio-shot-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mmstudio.gui.common.settings import GenerationSettings
    from mmstudio.gui.shell.app import create_application
    from mmstudio.gui.shell.launch import save_screenshot
    from mmstudio.gui.shell.main_window import MainWindow
    from mmstudio.inputs import AudioClip
    from tests.generative.tiny_models import FAMILIES, SAMPLING_RATE, sample_clip, sample_image

    folder = model
    digits_chat = model == "digits-chat"
    if model in FAMILIES:
        folder = str(FAMILIES[model](Path(tempfile.mkdtemp(prefix="mmstudio-tiny-")) / model))
    app = create_application()
    window = MainWindow(folder, "cpu")
    window.resize(1600, 1000)
    steps = {"asked": False}

    def on_ready(_info) -> None:
        if not steps["asked"]:
            steps["asked"] = True
            window.generation.choose(GenerationSettings(max_new_tokens=24))
            if digits_chat:
                ask_digits_chat(window)
                return
            window.inputs.image_input.set_image(sample_image(384, 256), "picture.png")
            if "audio" in window.service.analyzer.modalities:
                clip = AudioClip(sample_clip(2.0), SAMPLING_RATE)
                window.inputs.audio_input.set_clip(clip, "tone.wav")
            window.inputs.text_input.set_text("what is in this picture ?")

    def on_shown(request_id: int) -> None:
        if request_id == window.service.latest_analysis_id:
            window.results.answer.select(_selected(digits_chat))
            QTimer.singleShot(SETTLE_MS, finish)

    def finish() -> None:
        save_screenshot(window, path)
        app.exit(0)

    window.model_ready.connect(on_ready)
    window.analysis_shown.connect(on_shown)
    QTimer.singleShot(180_000, lambda: app.exit(3))  # never hang a headless run
    window.show()
    code = app.exec()
    window.close()
    return code


def ask_digits_chat(window) -> None:
    from mmstudio.inputs import load_audio, load_image
    from mmstudio.resources import samples_dir

    folder = samples_dir()
    window.inputs.image_input.set_image(load_image(folder / "digit_7.png"), "digit_7.png")
    window.inputs.audio_input.set_clip(load_audio(folder / "three.wav"), "three.wav")
    window.inputs.text_input.set_text("What do the picture and the voice add up to?")


def _selected(digits_chat: bool) -> int | None:
    """No token for digits-chat: the whole answer's values show both media at work (its result
    word, teacher-forced, follows from the two number words before it), else SELECTED_TOKEN."""
    return None if digits_chat else SELECTED_TOKEN


if __name__ == "__main__":
    raise SystemExit(
        main(sys.argv[1] if len(sys.argv) > 1 else "answer.png", *(sys.argv[2:3] or ["llava"]))
    )
