"""The desktop entry, the icons and the running application agree: a desktop matches the window
to packaging/mmstudio.desktop by the desktop file name, and shows the entry's Icon=."""

from __future__ import annotations

import configparser
import os
import subprocess
from pathlib import Path

from PySide6.QtGui import QImage

from mmstudio.gui.shell.app import create_application
from mmstudio.gui.shell.icon import DESKTOP_ID
from mmstudio.resources import icons_dir

ROOT = Path(__file__).resolve().parents[2]
DESKTOP_FILE = ROOT / "packaging" / f"{DESKTOP_ID}.desktop"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # desktop entry keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_application_names_the_desktop_entry_and_carries_every_icon_size(qapp):
    app = create_application()
    entry = _entry(DESKTOP_FILE)
    assert app.desktopFileName() == DESKTOP_FILE.stem == entry["Icon"] == entry["StartupWMClass"]
    assert entry["Type"] == "Application" and entry["Exec"].split()[0] == "mmstudio"
    sizes = {(size.width(), size.height()) for size in app.windowIcon().availableSizes()}
    assert {(n, n) for n in SIZES} <= sizes


def test_each_png_has_the_size_its_name_says():
    for size in SIZES:
        image = QImage(str(icons_dir() / f"{DESKTOP_ID}-{size}.png"))
        assert (image.width(), image.height()) == (size, size)
    assert (icons_dir() / f"{DESKTOP_ID}.svg").read_text().lstrip().startswith("<?xml")


def test_install_desktop_puts_the_entry_and_icons_under_xdg_data_home(tmp_path):
    data = tmp_path / "share"
    command = tmp_path / "bin" / "mmstudio"
    command.parent.mkdir()
    command.write_text("#!/bin/sh\n")
    command.chmod(0o755)
    env = {**os.environ, "XDG_DATA_HOME": str(data)}
    script = ROOT / "packaging" / "install_desktop.sh"
    subprocess.run(["bash", script, str(command)], env=env, check=True, capture_output=True)
    installed = _entry(data / "applications" / f"{DESKTOP_ID}.desktop")
    assert installed["Exec"] == f'"{command}"' and installed["TryExec"] == str(command)
    assert installed["Icon"] == DESKTOP_ID
    hicolor = data / "icons" / "hicolor"
    for size in SIZES:
        png = hicolor / f"{size}x{size}" / "apps" / f"{DESKTOP_ID}.png"
        assert png.read_bytes() == (icons_dir() / f"{DESKTOP_ID}-{size}.png").read_bytes()
    assert (hicolor / "scalable" / "apps" / f"{DESKTOP_ID}.svg").is_file()

    subprocess.run(["bash", script, "--uninstall"], env=env, check=True, capture_output=True)
    assert not (data / "applications" / f"{DESKTOP_ID}.desktop").exists()
    assert not any(hicolor.rglob(f"{DESKTOP_ID}.*"))


def test_install_desktop_refuses_a_command_that_does_not_exist(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    script = ROOT / "packaging" / "install_desktop.sh"
    result = subprocess.run(
        ["bash", script, str(tmp_path / "missing")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1 and "not executable" in result.stderr
    assert not (tmp_path / "share" / "applications").exists()
