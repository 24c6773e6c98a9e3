"""What the C decoders print on the process's stderr (libmpg123 inside libsndfile prints a line
per bad MP3 frame) never reaches the terminal or the log unasked; ``--verbose`` shows it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import soundfile

from mmstudio.inputs import InputError, load_audio
from tests.conftest import checkout_environment, require_or_skip

ROOT = Path(__file__).resolve().parents[2]
# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417-byte frames.
_FRAME_HEADER = bytes([0xFF, 0xFB, 0x90, 0x64])
_MPG123 = "libmpg123"


def garbage_mp3(path: Path, frames: int = 60) -> Path:
    """Valid MP3 frame headers around random bytes: libsndfile opens it, libmpg123 complains."""
    require_or_skip("MP3" in soundfile.available_formats(), "libsndfile was built without MP3")
    rng = np.random.default_rng(0)
    path.write_bytes(b"".join(_FRAME_HEADER + rng.bytes(413) for _ in range(frames)))
    return path


def _load_quietly(path: Path) -> InputError:
    try:
        load_audio(path)
    except InputError as error:
        return error
    raise AssertionError(f"{path.name} of random frames was accepted")


def test_decoder_messages_stay_off_stderr_and_go_to_the_debug_log(tmp_path, capfd, caplog):
    path = garbage_mp3(tmp_path / "noise.mp3")
    with caplog.at_level(logging.DEBUG, logger="mmstudio.inputs"):
        error = _load_quietly(path)
    assert "not valid MP3" in str(error)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    logged = [r.getMessage() for r in caplog.records if _MPG123 in r.getMessage()]
    assert len(logged) == 1 and logged[0].count(_MPG123) >= 10
    assert str(path) in logged[0]


def test_without_debug_logging_nothing_is_logged_either(tmp_path, capfd, caplog):
    path = garbage_mp3(tmp_path / "noise.mp3")
    with caplog.at_level(logging.INFO, logger="mmstudio"):
        _load_quietly(path)
    assert caplog.records == []
    assert capfd.readouterr().err == ""


def test_decoding_in_threads_shares_one_redirection_and_restores_fd_2(tmp_path, capfd):
    path = garbage_mp3(tmp_path / "noise.mp3")
    before = os.fstat(2)
    errors, barrier = [], threading.Barrier(6)

    def decode() -> None:
        barrier.wait()
        errors.append(_load_quietly(path))

    threads = [threading.Thread(target=decode) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(errors) == 6 and all("not valid MP3" in str(e) for e in errors)
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
    # fd 2 works again, and is where it was: what is written now reaches the test's capture.
    os.write(2, b"after the decodes\n")
    assert capfd.readouterr().err == "after the decodes\n"


def _predict(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmstudio", *args],
        cwd=ROOT,
        env=checkout_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_command_line_is_quiet_unless_verbose(tmp_path):
    path = garbage_mp3(tmp_path / "noise.mp3")
    quiet = _predict("predict", "--audio", str(path))
    assert quiet.returncode == 2
    assert quiet.stderr.strip().splitlines() == [
        line for line in quiet.stderr.strip().splitlines() if line.startswith("mmstudio: noise.mp3")
    ]
    assert len(quiet.stderr.strip().splitlines()) == 1 and _MPG123 not in quiet.stderr
    for verbose_args in (
        ("predict", "--verbose", "--audio", str(path)),
        ("--verbose", "predict", "--audio", str(path)),
    ):
        verbose = _predict(*verbose_args)
        assert verbose.returncode == 2
        assert verbose.stderr.count(_MPG123) >= 10, verbose.stderr[-2000:]
        assert "Traceback" not in verbose.stderr
        assert verbose.stderr.strip().splitlines()[-1] == quiet.stderr.strip()
