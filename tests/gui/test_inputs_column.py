"""The inputs column on its own: a real Studio, no window, no model.

What the window relies on: a whole example arrives as one change of the studio, with the cards'
summaries already current when the studio's observers hear of it; drops go to the input they
suit; a Dataset row is decoded off the GUI thread and its problems come out as errors.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData

from mmstudio.gui.inputs.column import InputsColumn
from mmstudio.gui.inputs.examples import Example
from mmstudio.studio import Studio

pytestmark = pytest.mark.gui


@pytest.fixture
def column(qtbot):
    studio = Studio("unused-model", "cpu")
    inputs = InputsColumn(studio)
    qtbot.addWidget(inputs)
    yield inputs
    inputs.shutdown()


def test_an_example_is_one_change_with_the_summaries_current(column, input_files):
    studio = column.studio
    heard = []
    studio.inputs_changed.connect(
        lambda modality: heard.append((modality, column.image_card.summary.text()))
    )
    example = Example(
        "test example", input_files.image, input_files.audio, "it is a seven", "7", "All seven."
    )
    column.load_example(example)
    assert len(heard) == 1 and heard[0][0] is None
    assert "seven.png" in heard[0][1]
    assert studio.image is column.image_input.image is not None
    assert studio.text == "it is a seven" and studio.audio is column.audio_input.clip
    assert studio.example.expected == "7" and "All seven." in studio.example.note
    assert studio.sample().present == ("image", "text", "audio")


def test_a_switched_off_card_leaves_its_input_out(column, input_files):
    column.load_example(Example("e", input_files.image, None, "seven", None, ""))
    column.image_card.switch.click()
    assert not column.image_card.use_input
    assert column.studio.sample().present == ("text",)


def test_drops_go_to_the_input_they_suit_or_say_why_not(qtbot, column):
    errors = []
    column.error_occurred.connect(errors.append)
    text = QMimeData()
    text.setText("I think it is a seven")
    with qtbot.waitSignal(column.text_input.text_changed, timeout=5000):
        column.accept_payload(text, "the drop")
    assert column.studio.text == "I think it is a seven"
    column.accept_payload(QMimeData(), "the drop")
    assert errors == ["there is nothing mmstudio can use in the drop"]


def test_a_dataset_row_with_a_missing_file_is_decoded_off_thread_and_reported(
    qtbot, column, tmp_path
):
    events = []
    column.error_occurred.connect(lambda message: events.append(("error", message)))
    column.studio.inputs_changed.connect(lambda modality: events.append(("inputs", modality)))
    record = {
        "id": "row-3",
        "image_path": str(tmp_path / "gone.png"),
        "text": "seven",
        "label": "7",
    }
    column.open_record(record, "digits")
    assert events == []  # decoded in the file-loading pool, not in the click
    qtbot.waitUntil(lambda: ("inputs", None) in events, timeout=10_000)
    assert [kind for kind, _ in events] == ["error", "inputs"]
    assert "gone.png" in events[0][1]
    # The files that could not be read leave no "expected" label behind.
    assert column.studio.text == "seven" and column.studio.example.expected is None
    assert column.image_input.image is None
