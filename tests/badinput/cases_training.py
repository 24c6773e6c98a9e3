"""Bad-input corpus, class "training": ``mmstudio train`` and ``evaluate`` given bad options,
bad run folders and bad datasets.

Datasets are a dozen records of 8x8 images and one-word texts written by :func:`dataset`; the
model is shrunk with ``--set`` so a run that gets as far as training takes about a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.badinput.case import Case
from tests.badinput.cases_models import TINY, checkpoint

KLASS = "training"
WORDS = ("zero", "one")
TINY_FLAGS = [item for key, value in TINY.items() for item in ("--set", f"{key}={value}")]
SPLITS = ("train",) * 8 + ("val",) * 4 + ("test",) * 4


def dataset(
    folder: Path,
    *,
    image: bool = True,
    splits: tuple[str, ...] = SPLITS,
    broken_image: bool = False,
) -> Path:
    """Records labelled "0" and "1" alternately: an image (unless not ``image``) and a word."""
    root = folder / "data"
    root.mkdir(parents=True)
    rows = []
    for index, split in enumerate(splits):
        label = index % 2
        row = {"id": f"r{index}", "label": str(label), "text": WORDS[label], "split": split}
        if image:
            row["image"] = f"{index}.png"
            pixels = np.full((8, 8, 3), 40 + 170 * label, dtype=np.uint8)
            Image.fromarray(pixels).save(root / row["image"])
        rows.append(row)
    if broken_image:
        rows[0]["image"] = "bad.png"
        (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not the rest of a PNG")
    _write_manifest(root, rows)
    return root


def _write_manifest(root: Path, rows: list[dict]) -> None:
    text = "".join(json.dumps(row) + "\n" for row in rows)
    (root / "manifest.jsonl").write_text(text, encoding="utf-8")


def train(data: Path, out: Path, *options: str) -> list[str]:
    return [
        "train", str(data), "--out", str(out), "--epochs", "1", "--batch-size", "8",
        "--device", "cpu", *TINY_FLAGS, *options,
    ]  # fmt: skip


def _train_with(*options: str, **data_options):
    def build(folder: Path) -> list[str]:
        return train(dataset(folder, **data_options), folder / "run", *options)

    return build


def _out_is_a_file(folder: Path) -> list[str]:
    out = folder / "run.txt"
    out.write_text("not a folder\n", encoding="utf-8")
    return train(dataset(folder), out)


def _out_below_a_file(folder: Path) -> list[str]:
    (folder / "notes.txt").write_text("a file\n", encoding="utf-8")
    return train(dataset(folder), folder / "notes.txt" / "run")


def _out_holds_other_files(folder: Path) -> list[str]:
    out = folder / "documents"
    out.mkdir()
    (out / "thesis.txt").write_text("years of work\n", encoding="utf-8")
    return train(dataset(folder), out)


def _manifest_lines(*lines: str):
    def build(folder: Path) -> list[str]:
        root = dataset(folder, image=False)
        (root / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return train(root, folder / "run")

    return build


def _manifest_both(folder: Path) -> list[str]:
    root = dataset(folder, image=False)
    (root / "manifest.csv").write_text("label,text\n0,zero\n", encoding="utf-8")
    return train(root, folder / "run")


def _labels_file(text: bytes):
    def build(folder: Path) -> list[str]:
        root = dataset(folder, image=False)
        (root / "labels.txt").write_bytes(text)
        return train(root, folder / "run")

    return build


def _missing_data(folder: Path) -> list[str]:
    return train(folder / "no-data", folder / "run")


def _missing_data_seeds(folder: Path) -> list[str]:
    return train(folder / "no-data", folder / "run", "--seeds", "2")


def _comparison_in_documents(folder: Path) -> list[str]:
    out = folder / "documents"
    out.mkdir()
    (out / "thesis.txt").write_text("years of work\n", encoding="utf-8")
    return train(dataset(folder), out, "--seeds", "2")


def _completed_run(folder: Path) -> tuple[Path, Path]:
    """A text-only dataset and a completed one-epoch attention run on it."""
    from mmstudio.training.trainer import train as run_training

    data, out = dataset(folder, image=False), folder / "run"
    for _ in run_training(
        data, fusion="attention", out_dir=out, epochs=1, batch_size=8, device="cpu",
        config_overrides=TINY,
    ):  # fmt: skip
        pass
    return data, out


def _resume_other_fusion(folder: Path) -> list[str]:
    data, out = _completed_run(folder)
    return train(data, out, "--fusion", "concat", "--resume", "--epochs", "2")


def _saved_state(state_text: str):
    """A run folder whose saved training state is ``state_text``, resumed."""

    def build(folder: Path) -> list[str]:
        out = folder / "run"
        out.mkdir()
        (out / "trainer_state.json").write_text(state_text, encoding="utf-8")
        (out / "training_state.safetensors").write_bytes(b"")
        return train(dataset(folder, image=False), out, "--resume")

    return build


def _state(**changes) -> str:
    state = {"fusion": "attention", "seed": 0, "batch_size": 8, "lr": 0.002, "epoch": 1,
             "config": {"labels": ["0", "1"], **TINY}}  # fmt: skip
    return json.dumps({**state, **changes})


def _completed_run_with(damage):
    """A completed run whose saved state ``damage(folder)`` breaks, then resumed."""

    def build(folder: Path) -> list[str]:
        data, out = _completed_run(folder)
        damage(out)
        return train(data, out, "--resume", "--epochs", "2")

    return build


def _truncate_state_tensors(out: Path) -> None:
    path = out / "training_state.safetensors"
    path.write_bytes(path.read_bytes()[:1000])


def _break_state_recipe(out: Path) -> None:
    path = out / "trainer_state.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    state["mix"] = {"probabilities": [2.0], "colour": "blue"}
    path.write_text(json.dumps(state), encoding="utf-8")


def _evaluate(*options: str, model=None, data_options=None):
    """``evaluate`` of the tiny checkpoint (or ``model(folder)``) on a small dataset."""

    def build(folder: Path) -> list[str]:
        data = dataset(folder, **(data_options or {}))
        target = model(folder) if model else checkpoint(folder)
        return ["evaluate", str(target), str(data), "--device", "cpu", *options]

    return build


def _evaluate_json(make_target):
    def build(folder: Path) -> list[str]:
        data, target = dataset(folder), checkpoint(folder)
        return [
            "evaluate",
            str(target),
            str(data),
            "--device",
            "cpu",
            "--json",
            str(make_target(folder)),
        ]

    return build


def _a_folder(folder: Path) -> Path:
    (folder / "metrics").mkdir()
    return folder / "metrics"


def _below_a_file(folder: Path) -> Path:
    (folder / "notes.txt").write_text("a file\n", encoding="utf-8")
    return folder / "notes.txt" / "metrics.json"


def _broken_model(folder: Path) -> Path:
    target = checkpoint(folder)
    (target / "config.json").write_text("[1, 2, 3]", encoding="utf-8")
    return target


def _letters_model(folder: Path) -> Path:
    from tests.badinput.cases_models import _config

    target = checkpoint(folder)
    config = _config(target)
    (target / "labels.txt").write_text("\n".join("abcdefghij") + "\n", encoding="utf-8")
    (target / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return target


def _error(name: str, build, names: str) -> Case:
    return Case(name=name, klass=KLASS, build=build, expect="error", names=names)


CASES: list[Case] = [
    # the run folder
    _error("train --out is a file", _out_is_a_file, "run.txt"),
    _error("train --out below a file", _out_below_a_file, "run"),
    _error("train --out holding files of another kind", _out_holds_other_files, "documents"),
    # model settings
    _error("train --set fusion_heads=0", _train_with("--set", "fusion_heads=0"), "fusion_heads"),
    _error("train --set dim=1e9", _train_with("--set", "dim=1e9"), "dim"),
    _error("train --set dim=16.5", _train_with("--set", "dim=16.5"), "dim"),
    _error("train --set dim=-16", _train_with("--set", "dim=-16"), "dim"),
    _error(
        "train --set dim=4096 (too many parameters)",
        _train_with("--set", "dim=4096", "--set", "text_layers=8"),
        "dim",
    ),
    _error(
        "train --set image_size=1000000", _train_with("--set", "image_size=1000000"), "image_size"
    ),
    _error(
        "train --set audio_max_seconds=1e7",
        _train_with("--set", "audio_max_seconds=1e7"),
        "audio_max_seconds",
    ),
    _error("train --set text_heads=3", _train_with("--set", "text_heads=3"), "text_heads"),
    _error("train --set temperature=0", _train_with("--set", "temperature=0"), "temperature"),
    _error(
        "train --set fusion_heads=two", _train_with("--set", "fusion_heads=two"), "fusion_heads"
    ),
    _error("train --set dropout=NaN", _train_with("--set", "dropout=NaN"), "dropout"),
    _error("train --set an unknown setting", _train_with("--set", "wingspan=3"), "wingspan"),
    _error("train --set without a value", _train_with("--set", "dim"), "--set"),
    # training options
    _error("train --epochs 0", _train_with("--epochs", "0"), "epochs"),
    _error("train --epochs -3", _train_with("--epochs", "-3"), "epochs"),
    _error("train --epochs abc", _train_with("--epochs", "abc"), "--epochs"),
    _error("train --batch-size 0", _train_with("--batch-size", "0"), "--batch-size"),
    _error("train --lr nan", _train_with("--lr", "nan"), "learning rate"),
    _error("train --lr 0", _train_with("--lr", "0"), "learning rate"),
    _error("train --patience 0", _train_with("--patience", "0"), "patience"),
    _error("train --device toaster", _train_with("--device", "toaster"), "toaster"),
    _error("train --fusion bogus", _train_with("--fusion", "bogus"), "--fusion"),
    # comparisons (a list of strategies, or --seeds): refused before their folder is made
    _error("train --fusion concat,bogus", _train_with("--fusion", "concat,bogus"), "bogus"),
    _error(
        "train --fusion concat,concat", _train_with("--fusion", "concat,concat"), "more than once"
    ),
    _error("train --seeds 0", _train_with("--seeds", "0"), "--seeds"),
    _error(
        "train --seeds 2 --set fusion_heads=0",
        _train_with("--seeds", "2", "--set", "fusion_heads=0"),
        "fusion_heads",
    ),
    _error(
        "train --seeds 2 --modality-dropout 1",
        _train_with("--seeds", "2", "--modality-dropout", "1"),
        "--modality-dropout",
    ),
    _error("train --seeds 2 --nproc 0", _train_with("--seeds", "2", "--nproc", "0"), "--nproc"),
    _error("train --seeds 2 on a missing dataset folder", _missing_data_seeds, "no-data"),
    _error("train --seeds 2 --out holding other files", _comparison_in_documents, "documents"),
    # datasets
    _error("train on a missing dataset folder", _missing_data, "no-data"),
    _error(
        "train on a manifest with a broken line",
        _manifest_lines('{"label": "0", "text": "zero"}', '{"label": "1", "text"'),
        "manifest.jsonl",
    ),
    _error(
        "train on a manifest that is an array",
        _manifest_lines('[{"label": "0", "text": "zero"}]'),
        "manifest.jsonl",
    ),
    _error(
        "train on a manifest with a 5000-digit label",
        _manifest_lines('{"label": ' + "9" * 5000 + ', "text": "x"}'),
        "manifest.jsonl",
    ),
    _error("train on a manifest and a CSV beside it", _manifest_both, "keep only one"),
    _error("train with a label missing from labels.txt", _labels_file(b"0\n"), "manifest.jsonl"),
    _error("train with a non-UTF-8 labels.txt", _labels_file(b"0\n1\n\xff\n"), "labels.txt"),
    _error("train without validation records", _train_with(splits=("train",) * 8), "'val'"),
    _error("train on a dataset with a broken image", _train_with(broken_image=True), "bad.png"),
    # resuming
    _error("train --resume with another fusion", _resume_other_fusion, "attention"),
    _error(
        "train --resume with a broken state file", _saved_state("{not json"), "trainer_state.json"
    ),
    _error(
        "train --resume with a state file that is an array",
        _saved_state("[]"),
        "trainer_state.json",
    ),
    _error(
        "train --resume with a bad model setting in the state",
        _saved_state(_state(config={"labels": ["0", "1"], "dim": "wide"})),
        "dim",
    ),
    _error(
        "train --resume with a batch size that is a string",
        _saved_state(_state(batch_size="eight")),
        "batch_size",
    ),
    _error(
        "train --resume with a history that is a number",
        _saved_state(_state(history=3)),
        "history",
    ),
    _error(
        "train --resume with cut-off state tensors",
        _completed_run_with(_truncate_state_tensors),
        "training_state.safetensors",
    ),
    _error(
        "train --resume with a broken corruption mix",
        _completed_run_with(_break_state_recipe),
        "trainer_state.json",
    ),
    # evaluation
    _error("evaluate --split bogus", _evaluate("--split", "bogus"), "bogus"),
    _error("evaluate --json a folder", _evaluate_json(_a_folder), "metrics"),
    _error("evaluate --json below a file", _evaluate_json(_below_a_file), "metrics.json"),
    _error("evaluate --batch-size 0", _evaluate("--batch-size", "0"), "batch size"),
    _error("evaluate a broken model folder", _evaluate(model=_broken_model), "config.json"),
    _error(
        "evaluate a model without the dataset's labels", _evaluate(model=_letters_model), "labels"
    ),
    _error(
        "evaluate a split with no records",
        _evaluate("--split", "test", data_options={"splits": ("train",) * 4 + ("val",) * 2}),
        "'test'",
    ),
    _error("evaluate a missing model", _evaluate(model=lambda folder: folder / "gone"), "gone"),
]
