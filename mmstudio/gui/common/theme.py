"""Light or dark, following the system, for Qt widgets and pyqtgraph plots alike."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

# Tableau 10: distinguishable for the common colour-vision deficiencies and on both themes.
MODALITY_COLORS = {"image": "#4C78A8", "text": "#F58518", "audio": "#54A24B"}
# SHAP's convention: red pushes the prediction up, blue pushes it down.
POSITIVE_COLOR = "#D6604D"
NEGATIVE_COLOR = "#4393C3"
ERROR_COLORS = {
    "light": ("#FDECEA", "#8A1C1C", "#E8A19A"),
    "dark": ("#4A1F1F", "#FFD7D2", "#8C3B33"),
}
INFO_COLORS = {
    "light": ("#E8F1FB", "#163C66", "#9DBDE3"),
    "dark": ("#1C3049", "#D4E6FA", "#3D6590"),
}


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def apply_system_palette(app: QApplication) -> None:
    """Use the system's colour scheme now and whenever the user switches it."""
    _apply_scheme(app)
    hints = app.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(lambda _scheme: _apply_scheme(app))


def _apply_scheme(app: QApplication) -> None:
    hints = app.styleHints()
    scheme = hints.colorScheme() if hasattr(hints, "colorScheme") else Qt.ColorScheme.Unknown
    app.setPalette(palette_for(scheme, app))


def palette_for(scheme: Qt.ColorScheme, app: QApplication) -> QPalette:
    """Our dark palette for a dark system; otherwise the style's own (light) palette."""
    return dark_palette() if scheme == Qt.ColorScheme.Dark else app.style().standardPalette()


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2B2D31",
        QPalette.ColorRole.WindowText: "#E6E6E6",
        QPalette.ColorRole.Base: "#1F2023",
        QPalette.ColorRole.AlternateBase: "#2F3136",
        QPalette.ColorRole.ToolTipBase: "#3A3C42",
        QPalette.ColorRole.ToolTipText: "#F0F0F0",
        QPalette.ColorRole.Text: "#E6E6E6",
        QPalette.ColorRole.Button: "#35373C",
        QPalette.ColorRole.ButtonText: "#E6E6E6",
        QPalette.ColorRole.BrightText: "#FF6B6B",
        QPalette.ColorRole.Highlight: "#3D7BD9",
        QPalette.ColorRole.HighlightedText: "#FFFFFF",
        QPalette.ColorRole.Link: "#6FA8FF",
        QPalette.ColorRole.PlaceholderText: "#8A8D93",
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7A7D83"))
    return palette


def style_plot(plot, widget: QWidget | None = None) -> None:
    """Give a pyqtgraph PlotWidget or GraphicsLayoutWidget the window's colours (pyqtgraph's are black)."""
    from mmstudio.gui.common.plotting import pg  # not at import time: pyqtgraph is slow to import

    palette = (widget or plot).palette()
    plot.setBackground(palette.color(QPalette.ColorRole.Base))
    foreground = palette.color(QPalette.ColorRole.WindowText)
    items = [plot.getPlotItem()] if isinstance(plot, pg.PlotWidget) else _plot_items(plot)
    for item in items:
        for name in ("left", "bottom", "right", "top"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(foreground))
            axis.setTextPen(pg.mkPen(foreground))


def restyle_plots(root: QWidget) -> None:
    """After the system switched between light and dark: give every plot under ``root`` the new colours."""
    from mmstudio.gui.common.plotting import pg

    for view in root.findChildren(pg.GraphicsView):
        if isinstance(view, (pg.PlotWidget, pg.GraphicsLayoutWidget)):
            style_plot(view)


def _plot_items(layout) -> list:
    from mmstudio.gui.common.plotting import pg

    return [item for item in layout.ci.items if isinstance(item, pg.PlotItem)]


def text_color(widget: QWidget) -> QColor:
    return widget.palette().color(QPalette.ColorRole.WindowText)


def banner_colors(kind: str) -> tuple[str, str, str]:
    """(background, text, border) for an error or info banner on the current theme."""
    table = ERROR_COLORS if kind == "error" else INFO_COLORS
    return table["dark" if is_dark() else "light"]
