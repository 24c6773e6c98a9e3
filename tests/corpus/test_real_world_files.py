"""Real-world files from Pillow's, SciPy's and python-soundfile's own test suites, through the
loaders and through ``mmstudio predict``: no traceback, no valid-but-unsupported file called
damaged, and every file either loads or fails with an InputError of the kind it is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mmstudio.inputs import InputError, load_audio, load_image
from mmstudio.inputs.failures import Kind
from tests.badinput.cases_realworld import CASES
from tests.badinput.checks import check_cli_outcome
from tests.badinput.worker import ROOT, run_cases
from tests.conftest import checkout_environment
from tests.corpus.table import DAMAGE_WORDS, ENTRIES, HERE, KIND_WORDS, LOADS, path_of

_LOADERS = {"--image": load_image, "--audio": load_audio}


def test_every_file_here_is_in_the_table_and_its_source_is_named():
    on_disk = {
        str(p.relative_to(HERE))
        for p in HERE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".md", ".pyc") and "__pycache__" not in p.parts
    }
    in_table = {entry.path for entry in ENTRIES}
    assert on_disk == in_table
    sources = (HERE / "SOURCES.md").read_text(encoding="utf-8")
    assert all(f"`{path}`" in sources for path in in_table)
    assert sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file()) < 3 * 2**20
    # Every kind is represented, by images and by audio where the kind exists for both.
    assert {entry.expected for entry in ENTRIES} == {LOADS, *KIND_WORDS}


def _check_message(entry, message: str) -> None:
    words = KIND_WORDS[entry.expected]
    assert any(word in message for word in words), f"{entry.path}: {message!r} lacks {words}"
    if entry.expected is Kind.UNSUPPORTED:
        said = [word for word in DAMAGE_WORDS if word in message.lower()]
        assert not said, f"{entry.path} is valid but unsupported, yet called {said}: {message}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.path for entry in ENTRIES])
def test_each_file_loads_or_fails_as_what_it_is(entry, capfd):
    loader = _LOADERS[entry.option]
    try:
        loaded = loader(path_of(entry))
    except InputError as error:
        assert entry.expected != LOADS, f"{entry.path} ({entry.what}) was refused: {error}"
        assert error.kind is entry.expected, f"{entry.path} ({entry.what}): {error}"
        assert Path(entry.path).name in str(error)
        _check_message(entry, error.reason)
    else:
        assert entry.expected == LOADS, f"{entry.path} ({entry.what}) loaded"
        assert loaded is not None
    # The C decoders' own messages (libtiff, libmpg123) stay off the terminal.
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.slow
def test_every_file_through_the_command_line(tmp_path):
    """All files in one worker that runs ``mmstudio.cli.main`` for each (torch loaded once)."""
    worker, outcomes = run_cases(tmp_path, [case.name for case in CASES], 1200)
    assert worker.returncode == 0, worker.stderr[-4000:]
    assert set(outcomes) == {case.name for case in CASES}
    for case, entry in zip(CASES, ENTRIES, strict=True):
        outcome = outcomes[case.name]
        check_cli_outcome(case, outcome)
        if entry.expected != LOADS:
            assert len(outcome["stderr"].strip().splitlines()) == 1, outcome["stderr"]
            _check_message(entry, outcome["stderr"])


@pytest.mark.parametrize(
    "path",
    [
        "scipy/test-8000Hz-le-3ch-5S-36bit.wav",
        "pillow/bmp/q/rgba32abf.bmp",
        "pillow/unimplemented_dxgi_format.dds",
        "pillow/psd-oob-write-overflow.psd",
        "pillow/oom-8ed3316a4109213ca96fb8a256a0bfefdece1461.icns",
    ],
)
def test_the_issues_files_as_real_processes(path):
    """The files the issue names, as a user's shell runs them: one line, exit 2, no traceback."""
    entry = next(entry for entry in ENTRIES if entry.path == path)
    result = subprocess.run(
        [sys.executable, "-m", "mmstudio", "predict", entry.option, str(path_of(entry))],
        cwd=ROOT,
        env=checkout_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mmstudio: {Path(path).name}: "), lines
    _check_message(entry, lines[0])


def _cuts(size: int) -> list[int]:
    """Inside the header (byte by byte for the first 64), then through the body."""
    early = [*range(1, 65), 80, 100, 128, 200, 256]
    return sorted({cut for cut in early + [size * k // 16 for k in range(1, 16)] if cut < size})


@pytest.mark.parametrize(
    "entry",
    [entry for entry in ENTRIES if entry.expected == LOADS],
    ids=[entry.path for entry in ENTRIES if entry.expected == LOADS],
)
def test_every_file_cut_short_loads_or_is_called_damaged(entry, capfd):
    """A valid file cut anywhere is a truncated file: it loads what it has, or is refused as
    damaged (or, cut inside its magic number, as not recognised), never as "unsupported"."""
    loader, data = _LOADERS[entry.option], path_of(entry).read_bytes()
    name = Path(entry.path).name
    kinds = set()
    for cut in _cuts(len(data)):
        try:
            loader(data[:cut], name=name)
        except InputError as error:
            kinds.add(error.kind)
            assert error.kind in (Kind.DAMAGED, Kind.UNRECOGNISED, None), (cut, str(error))
            if error.kind is None:  # refused for what it holds, not for how it decodes
                assert "silent" in error.reason, (cut, str(error))
    assert Kind.DAMAGED in kinds or not kinds
    assert capfd.readouterr().err == ""
