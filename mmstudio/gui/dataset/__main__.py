"""``python -m mmstudio.gui.dataset RESULTS [--screenshot PNG]``: the Dataset view on its own,
over a results folder written by ``mmstudio analyze``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmstudio.gui.dataset")
    parser.add_argument("results", help="a results folder written by mmstudio analyze")
    parser.add_argument("--size", default="1440x960", help="window size, WIDTHxHEIGHT")
    parser.add_argument("--screenshot", help="save the window as this PNG once drawn, then quit")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from mmstudio.gui.dataset import DatasetView
    from mmstudio.inputs.errors import InputError

    app = QApplication.instance() or QApplication(sys.argv[:1])
    view = DatasetView()
    view.setWindowTitle(f"mmstudio — {args.results}")
    width, height = (int(v) for v in args.size.lower().split("x"))
    view.resize(width, height)
    try:
        view.open_results(args.results)
    except InputError as error:
        print(f"mmstudio: {error}", file=sys.stderr)
        return 2
    view.show()
    if args.screenshot:
        view.tabs.setCurrentIndex(0)

        def shoot() -> None:
            view.grab().save(args.screenshot)
            app.quit()

        QTimer.singleShot(1500, shoot)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
