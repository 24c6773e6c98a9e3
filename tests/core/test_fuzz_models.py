"""Property-based fuzzing of the model config loader, checkpoint folders and the manifest reader.

Whatever the files hold, reading them either succeeds or raises the project's own InputError
(ConfigError is one): never a TypeError, AttributeError, RecursionError or anything else.
The number of examples is bounded so the module runs in CI in well under a minute.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import fields
from pathlib import Path

from tests.conftest import require_module

require_module("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mmstudio.inputs.errors import InputError  # noqa: E402
from mmstudio.models.checkpoint import load_checkpoint, read_labels  # noqa: E402
from mmstudio.models.config import FusionConfig  # noqa: E402
from mmstudio.models.validation import check_size, meta_network  # noqa: E402
from mmstudio.training.manifest import read_manifest  # noqa: E402
from tests.badinput.cases_models import TINY, checkpoint  # noqa: E402

FIELDS = [f.name for f in fields(FusionConfig)]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FILE_FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
# Numbers around the edges of the fields' ranges, where off-by-one mistakes live.
edges = st.sampled_from([0, 1, 2, 3, 7, 8, 16, 97, 98, 512, 513, 1024, 8192, 8193, 10**9, -1])
edges = edges | edges.map(float) | st.floats(min_value=-2.0, max_value=2.0)
labels = st.lists(st.text(max_size=3) | scalars, max_size=12) | st.just([str(i) for i in range(10)])


def _valid() -> dict:
    digits = [str(i) for i in range(10)]
    return {"architecture": "fusionnet", **FusionConfig(labels=digits, **TINY).to_dict()}


@st.composite
def config_dicts(draw) -> object:
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)  # not even an object, sometimes
    config = _valid()
    if draw(st.booleans()):
        config["labels"] = draw(labels)
    for name in draw(st.lists(st.sampled_from([*FIELDS, "architecture", "junk"]), max_size=4)):
        value = draw(labels if name == "labels" else (edges | json_values))
        config[name] = value
    return config


@FUZZ
@given(config_dicts())
def test_the_config_loader_raises_only_input_errors(data):
    try:
        config = FusionConfig.from_dict(data)
    except InputError:
        return
    _assert_sound(config)
    try:
        check_size(config, meta_network(config))
    except InputError:
        pass


def _assert_sound(config: FusionConfig) -> None:
    """What an accepted config promises the network builder and the JSON writers."""
    for f in fields(FusionConfig):
        value = getattr(config, f.name)
        if f.type == "int":
            assert type(value) is int, f.name
        elif f.type == "float":
            assert type(value) in (int, float) and math.isfinite(value), f.name
    assert all(type(label) is str and label.strip() for label in config.labels)
    assert len(set(config.labels)) == len(config.labels) >= 2
    assert config.dim % config.fusion_heads == 0 and config.dim % config.text_heads == 0
    text = json.dumps(config.to_dict(), allow_nan=False)
    assert FusionConfig.from_dict(json.loads(text)) == config


def _encoded(data: object) -> str:
    return json.dumps(data, allow_nan=True)


DIGIT_LINES = "".join(f"{i}\n" for i in range(10)).encode()
labels_files = st.none() | st.just(DIGIT_LINES) | st.binary(max_size=40)


@FILE_FUZZ
@given(st.one_of(config_dicts().map(_encoded), st.text(max_size=40)), labels_files)
def test_checkpoint_folders_raise_only_input_errors(config_text, labels_bytes):
    with tempfile.TemporaryDirectory() as scratch:
        folder = checkpoint(Path(scratch))
        (folder / "config.json").write_text(config_text, encoding="utf-8")
        if labels_bytes is None:
            (folder / "labels.txt").unlink()
        else:
            (folder / "labels.txt").write_bytes(labels_bytes)
        try:
            model = load_checkpoint(folder)
        except InputError:
            return
        _assert_sound(model.config)


@FUZZ
@given(st.binary(max_size=64) | st.text(max_size=64).map(lambda t: t.encode("utf-8")))
def test_labels_files_raise_only_input_errors(data):
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "labels.txt"
        path.write_bytes(data)
        try:
            found = read_labels(path)
        except InputError:
            return
        assert len(found) == len(set(found)) >= 2 and all(label.strip() == label for label in found)


record_keys = st.sampled_from(["id", "label", "image", "audio", "text", "split", "extra"])
files = st.sampled_from(["present.png", "missing.png", "a folder", "", "../present.png"])
plausible = st.fixed_dictionaries(
    {"label": st.sampled_from(["0", "1", 2, 2.5, "x"]), "text": st.text(max_size=8)},
    optional={"image": files, "split": st.sampled_from(["train", "dev", "holdout"]), "id": scalars},
)
records = plausible | st.dictionaries(record_keys, scalars | json_values, max_size=6)
jsonl_lines = st.one_of(records.map(_encoded), json_values.map(_encoded), st.text(max_size=30))


@FILE_FUZZ
@given(
    st.lists(jsonl_lines, min_size=0, max_size=6),
    st.none() | st.just(b"0\n1\n2\n") | st.binary(max_size=30),
    st.booleans(),
)
def test_the_manifest_reader_raises_only_input_errors(lines, labels_bytes, as_csv):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "present.png").write_bytes(b"any bytes: the reader only checks that it exists")
        (root / "a folder").mkdir()
        if as_csv:
            body = "label,text,image,split\n" + "\n".join(line.replace("\n", " ") for line in lines)
            (root / "manifest.csv").write_text(body, encoding="utf-8")
        else:
            (root / "manifest.jsonl").write_text("\n".join(lines), encoding="utf-8")
        if labels_bytes is not None:
            (root / "labels.txt").write_bytes(labels_bytes)
        try:
            manifest = read_manifest(root)
        except InputError:
            return
        assert manifest.records and all(r.label in manifest.labels for r in manifest.records)
