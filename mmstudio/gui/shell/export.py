"""Export: a PNG of the results panel and the Analysis as JSON beside it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget


def export_analysis(panel: QWidget, analysis, path: str | Path) -> tuple[Path, Path]:
    """Write ``panel`` as ``<path>.png`` and ``analysis`` as ``<path>.json``; OSError if either
    cannot be written."""
    png = Path(path).with_suffix(".png")
    data = png.with_suffix(".json")
    png.parent.mkdir(parents=True, exist_ok=True)
    if not panel.grab().save(str(png), "PNG"):
        raise OSError(f"could not write {png}")
    data.write_text(analysis.to_json(), encoding="utf-8")
    return png, data


def suggested_name(analysis) -> str:
    if getattr(analysis, "task", "") == "generation":
        # The answer's first words name it; characters a file name cannot hold are dropped.
        words = "-".join("".join(c for c in analysis.answer if c.isalnum() or c == " ").split()[:4])
        return f"answer-{words or 'empty'}.png"
    return f"analysis-{analysis.predicted_label}.png"
