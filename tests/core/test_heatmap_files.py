"""The heatmap PNGs are written as a set, all or nothing, like the dataset engine's Parquet
parts: a file of the set that cannot be written leaves no other behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from mmstudio.explain.file_set import FileSetError, write_all_or_nothing
from mmstudio.models import save_checkpoint
from tests.conftest import checkout_environment
from tests.core.helpers import tiny_model

ROOT = Path(__file__).resolve().parents[2]


def _text(content: bytes):
    return lambda stream: stream.write(content)


def test_a_set_is_written_whole(tmp_path):
    written = write_all_or_nothing(tmp_path, [("a.txt", _text(b"A")), ("b.txt", _text(b"B"))])
    assert written == [tmp_path / "a.txt", tmp_path / "b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "b.txt").read_bytes() == b"B"


def test_a_writer_failing_leaves_nothing_and_the_old_set_untouched(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"old A")

    def failing(stream):
        stream.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(FileSetError, match="No space left") as excinfo:
        write_all_or_nothing(tmp_path, [("a.txt", _text(b"new A")), ("b.txt", failing)])
    assert Path(excinfo.value.filename).name == "b.txt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_bytes() == b"old A"


def test_a_rename_failing_puts_back_the_files_already_replaced(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"old A")
    (tmp_path / "b.txt").mkdir()  # a folder where the second file must go
    (tmp_path / "c.txt").write_bytes(b"old C")
    files = [("a.txt", _text(b"new A")), ("b.txt", _text(b"B")), ("c.txt", _text(b"new C"))]
    with pytest.raises(FileSetError) as excinfo:
        write_all_or_nothing(tmp_path, files)
    assert Path(excinfo.value.filename).name == "b.txt"
    assert "folder" in excinfo.value.strerror
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "c.txt"]
    assert (tmp_path / "a.txt").read_bytes() == b"old A"
    assert (tmp_path / "c.txt").read_bytes() == b"old C"
    assert (tmp_path / "b.txt").is_dir() and not any((tmp_path / "b.txt").iterdir())


def test_the_command_line_writes_no_heatmap_when_one_cannot_be_written(tmp_path):
    save_checkpoint(tiny_model(), tmp_path / "model")
    Image.new("RGB", (40, 30), "white").save(tmp_path / "digit.png")
    tone = 0.3 * np.sin(np.linspace(0, 440 * 2 * np.pi, 16000)).astype("float32")
    soundfile.write(tmp_path / "tone.wav", tone, 16000)
    maps = tmp_path / "maps"
    (maps / "audio_heatmap.png").mkdir(parents=True)  # the second of the set
    env = checkout_environment()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmstudio",
            "predict",
            "--image",
            str(tmp_path / "digit.png"),
            "--text",
            "seven",
            "--audio",
            str(tmp_path / "tone.wav"),
            "--model",
            str(tmp_path / "model"),
            "--heatmaps",
            str(maps),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"mmstudio: could not write the heatmaps to {maps} (audio_heatmap.png): a folder of "
        "that name is in the way; none of them was written"
    )
    # The first of the set (image_heatmap.png) was written to a temporary name and removed.
    assert [p.name for p in maps.iterdir()] == ["audio_heatmap.png"]
    assert not any((maps / "audio_heatmap.png").iterdir())
