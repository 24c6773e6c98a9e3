"""Analysis ▸ Swap Modality: replace one modality of the current sample with another sample's
(from a file, an example or a dataset record) and see before and after side by side.

The swap itself is :func:`mmstudio.explain.swaps.swap_from`, run as one job in the analysis
service (donor file read, then before, after and the donor's modality alone analysed as one
batch, all in the worker thread). "Keep Swapped Sample" makes the swapped sample the inputs;
"Undo Keep" puts the original modality back, and the Before column keeps showing it meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QToolButton, QWidget

from mmstudio.gui.compare.side_by_side_dock import SideBySideDock
from mmstudio.gui.inputs.audio_input import AUDIO_FILTER
from mmstudio.gui.inputs.image_input import IMAGE_FILTER
from mmstudio.gui.service.job_calls import JobCalls, one_step
from mmstudio.inputs import Sample
from mmstudio.inputs.donor import MODALITY_NAMES, Donor

TEXT_FILTER = "Text files (*.txt *.md);;All files (*)"
FILTERS = {"image": IMAGE_FILTER, "text": TEXT_FILTER, "audio": AUDIO_FILTER}
EMPTY_SAMPLE = (
    "the current sample is empty: drop an image, type some text or record audio before "
    "swapping a modality into it"
)


def record_donor(record: dict, source: str = "the dataset") -> Donor:
    """A Dataset view row (file paths absolute) as a swap donor."""
    return Donor(
        name=f"record {record.get('id')} of {source}",
        image=Path(record["image_path"]) if record.get("image_path") else None,
        text=record.get("text") or None,
        audio=Path(record["audio_path"]) if record.get("audio_path") else None,
    )


def example_donor(example) -> Donor:
    return Donor(
        name=f"the example “{example.name}”",
        image=example.image,
        text=example.text,
        audio=example.audio,
    )


class SwapActions(QObject):
    """Signals: swapped(SwapOutcome) once the panel was given a swap's before and after."""

    swapped = Signal(object)

    def __init__(
        self,
        menu: QMenu,
        window: QWidget,
        calls: JobCalls,
        dock: SideBySideDock,
        *,
        sample: Callable[[], Sample],
        examples: Sequence,
        adopt: Callable[[str, object, str], None],
        folder: Callable[[str], str],
        report: Callable[[str], None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self.calls = calls
        self.dock = dock
        self.sample = sample
        self.adopt = adopt
        self.folder = folder
        self.report = report
        self.outcome = None  # the SwapOutcome shown
        self.donor: Donor | None = None
        self.kept = None  # the SwapOutcome whose sample was kept
        self._job: int | None = None
        self._buttons_added = False
        self.swap_menu = menu.addMenu("S&wap Modality")
        self.file_actions: dict[str, QAction] = {}
        self.example_menus: dict[str, QMenu] = {}
        self._build_swap_menu(examples)
        self.keep_action = QAction("&Keep Swapped Sample", window)
        self.keep_action.setShortcut(QKeySequence("Ctrl+K"))
        self.keep_action.setStatusTip("Make the swapped sample the current input")
        self.keep_action.triggered.connect(lambda _checked=False: self.keep())
        self.undo_action = QAction("&Undo Keep Swapped Sample", window)
        self.undo_action.setShortcut(QKeySequence("Ctrl+Shift+K"))
        self.undo_action.setStatusTip("Put the original modality back")
        self.undo_action.triggered.connect(lambda _checked=False: self.undo())
        for action in (self.keep_action, self.undo_action):
            action.setEnabled(False)
            menu.addAction(action)

    def _build_swap_menu(self, examples: Sequence) -> None:
        for modality in MODALITY_NAMES:
            action = self.swap_menu.addAction(f"Swap {modality.title()} From &File…")
            action.triggered.connect(lambda _checked=False, m=modality: self.swap_file_dialog(m))
            self.file_actions[modality] = action
        self.swap_menu.addSeparator()
        for modality in MODALITY_NAMES:
            submenu = self.swap_menu.addMenu(f"Swap {modality.title()} From &Example")
            self.example_menus[modality] = submenu
            for example in examples:
                donor = example_donor(example)
                has = donor.has(modality)
                action = submenu.addAction(
                    example.name if has else f"{example.name}  (no {modality})"
                )
                # An example without this modality has nothing to give: listed, not offered.
                action.setEnabled(has)
                action.triggered.connect(
                    lambda _checked=False, d=donor, m=modality: self.swap_in(d, m)
                )
            if not examples:
                submenu.addAction("No examples").setEnabled(False)

    @property
    def panel(self):
        """The side-by-side panel, with Keep and Undo under its verdict as in the menu."""
        panel = self.dock.panel
        if not self._buttons_added:
            self._buttons_added = True
            for action in (self.keep_action, self.undo_action):
                button = QToolButton()
                button.setDefaultAction(action)
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
                panel.add_button(button)
        return panel

    # Swapping

    def swap_file_dialog(self, modality: str) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window,
            f"Swap {modality.title()} From File",
            self.folder(modality),
            FILTERS[modality],
        )
        if path:
            self.swap_file(path, modality)

    def swap_file(self, path: str | Path, modality: str) -> int | None:
        path = Path(path)
        field = "text_file" if modality == "text" else modality
        return self.swap_in(Donor(name=path.name, **{field: path}), modality)

    def swap_record(self, record: dict, modality: str, source: str = "the dataset") -> int | None:
        return self.swap_in(record_donor(record, source), modality)

    def swap_in(self, donor: Donor, modality: str) -> int | None:
        """Run the swap in the analysis service; None (and a message) when there is nothing
        to swap into or nothing to swap in."""
        sample = self.sample()
        if not sample.present:
            self.report(EMPTY_SAMPLE)
            return None
        if not donor.has(modality):
            self.report(donor.lacks_message(modality))
            return None
        self.calls.cancel(self._job)  # the newest swap asked for is the one to show
        self.panel.show_message(f"Swapping the {modality} from {donor.name}…", "swap")
        self.dock.present()
        self._job = self.calls.submit(
            one_step(lambda analyzer: _swap(analyzer, sample, donor, modality)),
            "swap",
            lambda outcome: self._on_swapped(outcome, donor),
            self._on_failed,
        )
        return self._job

    def _on_swapped(self, outcome, donor: Donor) -> None:
        from mmstudio.gui.compare.side_by_side import Side

        self._job = None
        self.outcome, self.donor = outcome, donor
        self.keep_action.setEnabled(True)
        before, after = outcome.before, outcome.after
        self.panel.show_pair(
            "swap",
            outcome.verdict(),
            Side("Before", before, outcome.original),
            Side(f"After: {outcome.modality} from {donor.name}", after, outcome.sample),
            detail=(
                f"Before {before.predicted_label} ({before.confidence:.0%}) · after "
                f"{after.predicted_label} ({after.confidence:.0%}) · the swapped-in "
                f"{outcome.modality} alone says {outcome.donor_says}"
            ),
        )
        self.swapped.emit(outcome)

    def _on_failed(self, message: str) -> None:
        self._job = None
        self.panel.show_message(f"The swap did not run: {message}", "swap")
        self.report(message)

    # Keeping

    def keep(self) -> None:
        outcome = self.outcome
        if outcome is None or outcome.sample is None:
            return
        modality = outcome.modality
        self.adopt(
            modality, getattr(outcome.sample, modality), f"swapped in from {self.donor.name}"
        )
        self.kept = outcome
        self.keep_action.setEnabled(False)
        self.undo_action.setEnabled(True)

    def undo(self) -> None:
        kept = self.kept
        if kept is None or kept.original is None:
            return
        self.adopt(kept.modality, getattr(kept.original, kept.modality), "original")
        self.kept = None
        self.undo_action.setEnabled(False)
        self.keep_action.setEnabled(self.outcome is not None)


def _swap(analyzer, sample: Sample, donor: Donor, modality: str):
    """The swap, in the analysis thread; explain (and torch with it) is imported there, never
    by the window before it is shown."""
    from mmstudio.explain.swaps import swap_from

    return swap_from(analyzer, sample, donor, modality)
