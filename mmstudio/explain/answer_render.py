"""Files for a generative model's explained answer, for the command line: the analysis as JSON
and the whole answer's maps as PNG overlays, written all or nothing like the classifier's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmstudio.explain.file_set import write_all_or_nothing
from mmstudio.explain.render import image_overlay, spectrogram_overlay, tokens_picture
from mmstudio.inputs.sample import Sample
from mmstudio.result import GenerationAnalysis

ANSWER_JSON = "answer.json"


def answer_files(analysis: GenerationAnalysis, sample: Sample) -> list[tuple[str, object]]:
    """``(name, writer)`` for the JSON and every answer map the analysis holds."""
    text = analysis.to_json().encode("utf-8")  # first: a non-finite number writes nothing
    files: list[tuple[str, object]] = [(ANSWER_JSON, lambda stream: stream.write(text))]
    signed = set(analysis.signed_maps)
    pictures = []
    if analysis.answer_image_map is not None and sample.image is not None:
        overlay = image_overlay(sample.image, analysis.answer_image_map, signed="image" in signed)
        pictures.append(("answer_image_map.png", overlay))
    if analysis.answer_audio_map is not None and analysis.spectrogram is not None:
        # The map is over the spectrogram's frames: the same for every mel band.
        frames = np.asarray(analysis.answer_audio_map, dtype=np.float32)
        heat = np.broadcast_to(frames, analysis.spectrogram.shape)
        overlay = spectrogram_overlay(analysis.spectrogram, heat, signed="audio" in signed)
        pictures.append(("answer_audio_map.png", overlay))
    if analysis.answer_word_map is not None and analysis.prompt_words:
        picture = tokens_picture(
            analysis.prompt_words, analysis.answer_word_map, signed="text" in signed
        )
        pictures.append(("answer_word_map.png", picture))
    for name, picture in pictures:
        files.append((name, lambda stream, picture=picture: picture.save(stream, format="PNG")))
    return files


def write_answer_files(
    analysis: GenerationAnalysis, sample: Sample, folder: str | Path
) -> list[Path]:
    """Write :func:`answer_files` into ``folder``, all of them or none (file_set)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return write_all_or_nothing(folder, answer_files(analysis, sample))
