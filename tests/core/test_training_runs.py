"""Training on datasets that lack a modality, and run folders that only a completed run replaces.

The datasets are a dozen records made here (8x8 images, one-word texts) and the model is shrunk
to dim 16, so each run takes a second or two on a CPU; what is checked is the machinery.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from tests.conftest import require_module

torch = require_module("torch")

from mmstudio.cli import main  # noqa: E402
from mmstudio.inputs.errors import InputError  # noqa: E402
from mmstudio.models.checkpoint import load_checkpoint  # noqa: E402
from mmstudio.training.evaluate import evaluate  # noqa: E402
from mmstudio.training.run_folder import PARTIAL_SUFFIX  # noqa: E402
from mmstudio.training.trainer import STATE_JSON, train  # noqa: E402
from tests.badinput.cases_training import TINY, dataset  # noqa: E402
from tests.badinput.cases_training import train as train_args  # noqa: E402


def _strict_json(path: Path):
    def refuse(name):
        raise ValueError(f"{name} in {path.name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def _cli(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(args)
    return status, err.getvalue()


def _partial(out: Path) -> Path:
    return out.with_name(out.name + PARTIAL_SUFFIX)


def _run(data: Path, out: Path, epochs: int = 1, **options):
    return train(
        data, fusion="attention", out_dir=out, epochs=epochs, batch_size=8, device="cpu",
        config_overrides=TINY, **options,
    )  # fmt: skip


@pytest.mark.parametrize("with_images", [True, False], ids=["image+text", "text only"])
def test_one_epoch_on_a_dataset_where_a_modality_never_appears(tmp_path, with_images):
    data, out = dataset(tmp_path, image=with_images), tmp_path / "run"
    status, err = _cli(train_args(data, out))
    assert status == 0, err
    metrics = _strict_json(out / "metrics.json")
    assert metrics["epochs"] == 1 and 0.0 <= metrics["val_accuracy"] <= 1.0
    assert metrics["val_subsets"]["image+text+audio"] is None  # never seen, so not scored
    assert (metrics["val_subsets"]["image+text"] is None) != with_images
    assert not _partial(out).exists()
    model = load_checkpoint(out)
    assert model.labels == ["0", "1"] and model.config.dim == TINY["dim"]
    report = tmp_path / "test.json"
    evaluate(model, data, device="cpu", json_path=report, latency_runs=1)
    assert sum(map(sum, _strict_json(report)["confusion_matrix"])) == 4  # every test record


def test_a_failed_run_leaves_the_previous_run_as_it_was(tmp_path):
    out = tmp_path / "run"
    assert _cli(train_args(dataset(tmp_path / "good", image=True), out))[0] == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    status, err = _cli(train_args(dataset(tmp_path / "bad", broken_image=True), out))
    assert status == 2
    assert "training failed in epoch 1" in err and "bad.png" in err and "unchanged" in err
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert not _partial(out).exists()  # no epoch completed: nothing worth keeping


def test_a_refused_run_creates_no_folder(tmp_path):
    out = tmp_path / "run"
    status, err = _cli(train_args(dataset(tmp_path), out, "--set", "fusion_heads=0"))
    assert status == 2 and "fusion_heads" in err
    assert not out.exists() and not _partial(out).exists()


def test_an_interrupted_run_is_kept_apart_and_resume_completes_it(tmp_path):
    data, out = dataset(tmp_path, image=False), tmp_path / "run"
    events = _run(data, out, epochs=2)
    for event in events:
        if event.kind == "epoch":
            break  # the consumer goes away after epoch 1, as a closed window would
    events.close()
    assert not out.exists()
    assert json.loads((_partial(out) / STATE_JSON).read_text())["epoch"] == 1
    resumed = list(_run(data, out, epochs=2, resume=True))
    assert resumed[0].epoch == 1 and [e.epoch for e in resumed if e.kind == "epoch"] == [2]
    assert [h["epoch"] for h in _strict_json(out / "metrics.json")["history"]] == [1, 2]
    assert not _partial(out).exists()


def test_resuming_a_completed_run_replaces_it_only_when_done(tmp_path):
    data, out = dataset(tmp_path, image=False), tmp_path / "run"
    list(_run(data, out, epochs=1))
    first = (out / "model.safetensors").read_bytes()
    for event in _run(data, out, epochs=2, resume=True):
        if event.kind == "epoch":
            assert (out / "model.safetensors").read_bytes() == first  # still the finished run
    assert _strict_json(out / "metrics.json")["epochs"] == 2


def test_the_error_starts_its_own_line_after_the_progress_bar(tmp_path):
    status, err = _cli(train_args(dataset(tmp_path, broken_image=True), tmp_path / "run"))
    assert status == 2
    before, _, after = err.partition("mmstudio: ")
    assert after and (before == "" or before.endswith("\n")), repr(err[-300:])


def test_out_on_a_file_is_refused_before_training(tmp_path):
    target = tmp_path / "run"
    target.write_text("keep me\n", encoding="utf-8")
    with pytest.raises(InputError, match="the run folder is a file"):
        next(_run(dataset(tmp_path), target))
    assert target.read_text(encoding="utf-8") == "keep me\n"


def test_a_folder_of_other_files_is_never_replaced(tmp_path):
    own = tmp_path / "documents"
    own.mkdir()
    (own / "thesis.txt").write_text("years of work\n", encoding="utf-8")
    with pytest.raises(InputError, match="not from a training run"):
        next(_run(dataset(tmp_path), own))
    assert [p.name for p in own.iterdir()] == ["thesis.txt"]
    assert not _partial(own).exists()
