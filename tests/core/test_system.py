"""System checks and the doctor report: what the machine offers, said before anything breaks."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

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


def test_doctor_json_reports_versions_device_components_and_weights():
    result = _doctor("--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for package in ("torch", "torchvision", "torchaudio", "PySide6", "transformers"):
        assert report["versions"][package] == metadata.version(package)
    assert report["device"]["device"].startswith(("CPU", "CUDA", "MPS"))
    assert report["device"]["precision"] == "float32"
    components = report["system"]
    assert set(components) == {"portaudio", "camera", "pulseaudio", "xcb"}
    assert components["portaudio"]["found"] == system.can_load("libportaudio.so.2")
    assert components["xcb"]["missing_packages"] == system.missing_packages(system.XCB_LIBRARIES)
    digits = next(model for model in report["models"] if model["name"] == "digits")
    assert digits["available"] is True
    assert digits["weights"] == str(default_model_dir())


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
