"""The Dataset menu: show the Dataset view (Ctrl+D), open a dataset, compare it with a second
model, have a generative model answer under every coalition of modalities, export what it
shows, and stop a running analysis. Open Dataset… is in the File menu too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QWidget

from mmstudio.gui.common.actions import add_action
from mmstudio.gui.dataset.dataset_mode import DatasetMode
from mmstudio.inputs.errors import InputError

# The last choice of the Compare With Model… list: a checkpoint folder instead of a name.
FOLDER_CHOICE = "Checkpoint folder…"
TABLE_FILTERS = "Parquet table (*.parquet);;CSV table (*.csv)"
SUMMARY_FILTERS = "Summary as JSON (*.json);;Summary as a PNG picture (*.png)"


@dataclass(frozen=True)
class DatasetActions:
    show: QAction
    open: QAction
    compare: QAction
    stop_comparing: QAction
    coalition_answers: QAction
    export_table: QAction
    export_summary: QAction
    cancel: QAction


def build_dataset_menu(
    menu: QMenu,
    window: QWidget,
    mode: DatasetMode,
    *,
    open_dataset: Callable[[], object],
    export_folder: Callable[[], str],
    report: Callable[[str], None],
    remember_compare: Callable[[str], None] = lambda _spec: None,
    model_folder: Callable[[], str] = str,
) -> DatasetActions:
    """``remember_compare(spec)`` stores the compare model chosen ("" when cleared) in the
    settings; ``model_folder()`` is where the folder dialog starts."""

    def compare_with(spec: str) -> None:
        mode.set_compare_model(spec)
        remember_compare(spec)
        enable()

    show = QAction("&Dataset View", window)
    show.setCheckable(True)
    show.setShortcut("Ctrl+D")
    show.toggled.connect(mode.set_shown)
    menu.addAction(show)
    actions = DatasetActions(
        show=show,
        open=add_action(menu, window, "&Open Dataset…", "Ctrl+Shift+D", open_dataset),
        compare=add_action(
            menu,
            window,
            "&Compare With Model…",
            None,
            lambda: _choose_compare_model(window, mode, model_folder(), compare_with),
        ),
        stop_comparing=add_action(menu, window, "Stop Com&paring", None, lambda: compare_with("")),
        coalition_answers=_coalition_answers_action(menu, window, mode),
        export_table=add_action(
            menu,
            window,
            "Export Filtered &Table…",
            None,
            lambda: _export(window, mode, "table", export_folder(), report),
        ),
        export_summary=add_action(
            menu,
            window,
            "Export &Summary…",
            None,
            lambda: _export(window, mode, "summary", export_folder(), report),
        ),
        cancel=add_action(menu, window, "&Stop Analysis", None, mode.cancel),
    )
    mode.shown_changed.connect(show.setChecked)

    def enable() -> None:
        has_rows = mode.built and mode.view.table.num_rows > 0
        actions.export_table.setEnabled(has_rows)
        actions.export_summary.setEnabled(has_rows)
        actions.cancel.setEnabled(mode.running)
        actions.stop_comparing.setEnabled(bool(mode.compare_model))
        actions.stop_comparing.setText(
            f"Stop Com&paring With {Path(mode.compare_model).name}"
            if mode.compare_model
            else "Stop Com&paring"
        )

    menu.aboutToShow.connect(enable)
    enable()
    return actions


def _coalition_answers_action(menu: QMenu, window: QWidget, mode: DatasetMode) -> QAction:
    action = QAction("Answer Under Every &Coalition", window)
    action.setCheckable(True)
    action.setChecked(mode.coalition_answers)
    action.setToolTip(
        "A generative model also answers each record with only each coalition of its "
        "modalities, so the summary gives every coalition's accuracy per label (2^M - 1 more "
        "generations per record)"
    )
    action.toggled.connect(mode.set_coalition_answers)
    menu.addAction(action)
    return action


def _choose_compare_model(window: QWidget, mode: DatasetMode, folder: str, choose) -> None:
    """A registered model by name, or a checkpoint folder, as the second model."""
    from mmstudio.models.registry import list_models

    names = [entry.name for entry in list_models() if entry.available]
    choices = [*names, FOLDER_CHOICE]
    current = choices.index(mode.compare_model) if mode.compare_model in names else 0
    chosen, ok = QInputDialog.getItem(
        window,
        "Compare With Model",
        "Analyse each dataset with this model too, beside the loaded one:",
        choices,
        current,
        False,
    )
    if not ok or not chosen:
        return
    if chosen == FOLDER_CHOICE:
        chosen = QFileDialog.getExistingDirectory(window, "Compare With Model Folder", folder)
        if not chosen:
            return
    choose(chosen)


def _export(window: QWidget, mode: DatasetMode, what: str, folder: str, report) -> None:
    if not mode.built or mode.view.table.num_rows == 0:
        report("there are no dataset results to export yet")
        return
    name = (mode.dataset.name if mode.dataset else "dataset") + (
        "" if what == "table" else "-summary"
    )
    filters = TABLE_FILTERS if what == "table" else SUMMARY_FILTERS
    path, chosen = QFileDialog.getSaveFileName(
        window, f"Export Dataset {what.title()}", str(Path(folder) / name), filters
    )
    if not path:
        return
    if not Path(path).suffix:
        path += chosen.rsplit("*", 1)[-1].rstrip(")")
    try:
        export = mode.view.export_table if what == "table" else mode.view.export_summary
        written = export(path)
    except (InputError, OSError) as error:
        report(f"the dataset {what} could not be exported: {error}")
        return
    window.statusBar().showMessage(f"Exported {Path(written).name}", 5000)
