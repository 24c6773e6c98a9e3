"""System checks and the doctor report: what the machine offers, said before anything breaks."""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from mmstudio import system
from mmstudio.resources import default_model_dir

X11 = {"DISPLAY": ":0"}


def _all_present(_soname: str) -> bool:
    return True


def test_no_problem_when_every_xcb_library_loads():
    assert system.xcb_problem(X11, "linux", _all_present) is None


def test_a_missing_xcb_library_gives_one_line_naming_the_package_and_the_fix():
    missing = {"libxcb-cursor.so.0", "libxkbcommon-x11.so.0"}
    problem = system.xcb_problem(X11, "linux", lambda soname: soname not in missing)
    assert problem is not None and "\n" not in problem
    assert "libxcb-cursor0" in problem and "libxkbcommon-x11-0" in problem
    assert "sudo bash packaging/install_system_deps.sh" in problem
    assert "sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0" in problem
    # Only what is missing is named: the rest would send people installing what they have.
    assert "libxcb-icccm4" not in problem


def test_the_xcb_check_applies_only_where_qt_will_use_xcb():
    nothing_loads = lambda _soname: False  # noqa: E731
    assert system.xcb_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", nothing_loads) is None
    assert system.xcb_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", nothing_loads) is None
    assert system.xcb_problem(X11, "darwin", nothing_loads) is None
    assert system.xcb_problem({"QT_QPA_PLATFORM": "xcb"}, "linux", nothing_loads) is not None
    assert system.xcb_problem({"QT_QPA_PLATFORM": "xcb:dpi=96"}, "linux", nothing_loads) is not None


def test_the_real_loader_finds_libc_and_not_a_made_up_library():
    assert system.can_load("libc.so.6")
    assert not system.can_load("libmmstudio-does-not-exist.so.9")


@pytest.mark.parametrize("command", ["mmstudio gui", "python -m mmstudio.gui"])
def test_the_gui_command_stops_with_the_one_line_message_before_qt_loads(
    command, monkeypatch, capsys
):
    from mmstudio import cli
    from mmstudio.gui import __main__ as gui_main

    monkeypatch.setattr(system, "can_load", lambda soname: soname != "libxcb-cursor.so.0")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    main = (lambda: cli.main(["gui"])) if command == "mmstudio gui" else (lambda: gui_main.main([]))
    assert main() == cli.EXIT_BAD_INPUT
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "libxcb-cursor0" in error


def _doctor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmstudio", "doctor", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _loader_cache() -> set[str]:
    """The shared libraries the dynamic loader's cache lists, read with ldconfig: a second
    opinion on what doctor finds by loading them."""
    listing = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=30)
    return {line.split()[0] for line in listing.stdout.splitlines()[1:] if line.strip()}


def test_doctor_json_reports_versions_device_components_and_weights():
    import PySide6
    import torch
    import torchaudio
    import torchvision
    import transformers

    result = _doctor("--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # Each package's own idea of its version, not the metadata doctor reads (a wheel's
    # __version__ may carry a local tag such as +cu130 that its metadata leaves out).
    for module in (torch, torchvision, torchaudio, PySide6, transformers):
        reported = report["versions"][module.__name__]
        assert reported.split("+")[0] == module.__version__.split("+")[0]
    assert report["versions"]["Python"] == ".".join(map(str, sys.version_info[:3]))
    device = report["device"]
    assert device["cuda_available"] == torch.cuda.is_available()
    assert device["cuda_version"] == (torch.version.cuda or "none")
    if torch.cuda.is_available():
        assert device["device"] == f"CUDA: {torch.cuda.get_device_name(0)}"
    elif not glob.glob("/dev/nvidia[0-9]*") and sys.platform.startswith("linux"):
        assert device["device"].startswith("CPU (") and "bf16_supported" not in device
    assert device["precision"] == "float32"
    components = report["system"]
    assert set(components) == {"portaudio", "camera", "pulseaudio", "xcb"}
    cache = _loader_cache() if shutil.which("ldconfig") else None
    if cache is not None:
        assert components["portaudio"]["found"] == ("libportaudio.so.2" in cache)
        assert components["pulseaudio"]["library"] == ("libpulse.so.0" in cache)
        absent = [
            package for soname, package in system.XCB_LIBRARIES.items() if soname not in cache
        ]
        assert components["xcb"]["missing_packages"] == absent
        assert components["xcb"]["found"] == (not absent)
    cameras = sorted(str(path) for path in Path("/dev").glob("video*"))
    assert components["camera"]["found"] == bool(cameras)
    digits = next(model for model in report["models"] if model["name"] == "digits")
    assert digits["available"] == (default_model_dir() / "model.safetensors").is_file()
    assert digits["weights"] == str(default_model_dir())
    assert digits["task"] == "classification"


def test_doctor_prints_a_readable_report():
    result = _doctor()
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for heading in ("Versions:", "Device:", "System components:", "Models:"):
        assert heading in text
    assert f"torchaudio    {metadata.version('torchaudio')}" in text
    assert f"weights: {default_model_dir()}" in text


def test_installed_versions_come_from_the_metadata_without_importing_the_package():
    code = (
        "import sys\nfrom mmstudio.system import installed_version\n"
        "print(installed_version('torch'), installed_version('no-such-distribution-here'), "
        "'torch' in sys.modules)"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert found == [metadata.version("torch"), "not", "installed", "False"]
