"""The application icon: the desktop's installed theme icon when there is one (`make
install-desktop`), else the copy shipped inside the package, so the window and the task bar
show it from a wheel, a checkout or the bundle alike."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

from mmstudio.resources import icons_dir

DESKTOP_ID = "mmstudio"  # packaging/mmstudio.desktop: its file name and its Icon= key


def packaged_icon() -> QIcon:
    # The PNGs only: they cover 16..512 px, and an SVG in the same QIcon would hide their sizes
    # behind its scalable engine. The SVG is for desktops (the theme's scalable/ folder).
    icon = QIcon()
    for png in sorted(icons_dir().glob(f"{DESKTOP_ID}-*.png")):
        size = int(png.stem.rsplit("-", 1)[1])
        icon.addFile(str(png), QSize(size, size))
    return icon


def application_icon() -> QIcon:
    return QIcon.fromTheme(DESKTOP_ID, packaged_icon())
