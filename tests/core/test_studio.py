"""The studio model without Qt: inputs and switches, latest-wins, which error is shown."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mmstudio.inputs import AudioClip
from mmstudio.studio import RequestLedger, Studio


def changes(studio: Studio) -> list:
    seen: list = []
    studio.inputs_changed.connect(seen.append)
    return seen


def test_inputs_and_switches_make_the_sample():
    studio = Studio()
    seen = changes(studio)
    image = Image.new("RGB", (8, 8))
    clip = AudioClip(np.zeros(160, np.float32) + 0.1, 16000)
    studio.set_image(image)
    studio.set_text("  seven  ")
    studio.set_audio(clip)
    assert seen == ["image", "text", "audio"]
    assert studio.sample().present == ("image", "text", "audio")
    studio.set_enabled("audio", False)
    assert seen[-1] == "audio"
    sample = studio.sample()
    assert sample.present == ("image", "text") and sample.audio is None
    assert studio.audio is clip  # switched off, not forgotten
    studio.set_enabled("image", False)
    studio.set_enabled("text", False)
    assert not studio.sample().present
    assert "switched off" in studio.idle_reason()
    with pytest.raises(KeyError):
        studio.set_enabled("smell", True)


def test_an_empty_studio_says_what_to_do():
    studio = Studio()
    assert not studio.any_input() and "Drop an image" in studio.idle_reason()
    studio.set_text("   ")
    assert not studio.sample().present


def test_a_batch_sends_one_change_and_keeps_the_example():
    studio = Studio()
    seen = changes(studio)
    with studio.batch():
        studio.set_image(Image.new("RGB", (8, 8)))
        studio.set_text("seven")
        studio.load_example("7", "Everything says seven.")
        assert seen == []
    assert seen == [None]
    assert studio.example.expected == "7"
    studio.set_enabled("image", False)  # a switch keeps the example
    assert studio.example is not None
    studio.set_text("three")  # an edit makes it the user's own sample
    assert studio.example is None


def test_choosing_a_model_and_a_device_is_announced():
    studio = Studio(device="cpu")
    models, devices = [], []
    studio.model_chosen.connect(models.append)
    studio.device_chosen.connect(devices.append)
    studio.choose_model("/models/mine")
    studio.choose_device("auto")
    assert (studio.model_spec, studio.device) == ("/models/mine", "auto")
    assert models == ["/models/mine"] and devices == ["auto"]
    with pytest.raises(ValueError, match="unknown device"):
        studio.choose_device("toaster")
    assert studio.device == "auto"


def test_the_latest_result_wins_and_older_ones_are_never_shown():
    ledger = RequestLedger()
    sample = Studio().sample()
    for request_id in (1, 2, 3):
        ledger.sent(request_id, sample)
    assert ledger.busy
    # The worker finished request 1 (it was running) and skipped 2; 3 is still coming.
    assert ledger.accept_result(1).request_id == 1
    assert ledger.busy
    assert ledger.accept_result(3).request_id == 3
    assert not ledger.busy
    assert ledger.accept_result(2) is None  # older than what is on screen
    assert ledger.shown_id == 3


def test_cancelled_requests_are_not_shown():
    ledger = RequestLedger()
    ledger.sent(1, Studio().sample())
    ledger.cancel_all(latest_id=2)
    assert ledger.accept_result(1) is None and not ledger.busy


def test_an_error_belongs_to_the_request_whose_outcome_counts():
    ledger = RequestLedger()
    sample = Studio().sample()
    ledger.sent(1, sample)
    ledger.sent(2, sample)
    assert not ledger.accept_error(1)  # request 2 is on its way: its outcome counts
    assert ledger.busy
    assert ledger.accept_error(2)
    assert not ledger.busy
    ledger.error_shown()
    ledger.sent(3, sample)
    assert not ledger.clears_error(2) and ledger.clears_error(3)
