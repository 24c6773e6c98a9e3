"""The Ray engine on a local two-CPU Ray instance gives the local engine's rows.

Required in CI: it is skipped only where Ray Data is not installed, and fails there too when
MMSTUDIO_REQUIRE_ALL=1.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pyarrow.dataset as pads
import pytest

from tests.conftest import require_module, require_or_skip
from tests.core.analysis_data import BROKEN_IDS, write_dataset

torch = require_module("torch")

# Columns whose floats come from the model: batches of other sizes round differently.
FLOAT_COLUMNS = ("probabilities", "coalition_values", "embedding", "confidence", "full_score")


@pytest.fixture(scope="module")
def ray_instance():
    require_or_skip(
        importlib.util.find_spec("ray") is not None and importlib.util.find_spec("pandas"),
        "Ray Data is not installed (pip install 'mmstudio[scale]')",
    )
    import ray

    # Small and quiet: two CPUs, no dashboard, a 100 MB object store, no usage report.
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=100 * 1024 * 1024,
        log_to_driver=False,
        runtime_env={"env_vars": {"RAY_USAGE_STATS_ENABLED": "0"}},
    )
    yield ray
    ray.shutdown()


def _same_schema_and_ids(local_out, ray_out):
    """Both engines' rows by id, once their schemas (metadata included) and ids are equal."""
    from mmstudio.datasets.store import ResultsStore

    local, ray = ResultsStore(local_out), ResultsStore(ray_out)
    assert ray.schema().equals(local.schema()) and ray.schema().metadata == local.schema().metadata
    local_rows, ray_rows = _rows(local_out), _rows(ray_out)
    assert sorted(ray_rows) == sorted(local_rows)
    return local_rows, ray_rows


def _rows(out) -> dict[str, dict]:
    table = pads.dataset(str(out)).to_table()
    return {row["id"]: row for row in table.to_pylist()}


def test_ray_engine_rows_equal_the_local_engine_rows(ray_instance, tmp_path):
    from mmstudio.analysis import Analyzer
    from mmstudio.datasets.engine import LocalAnalysis
    from mmstudio.datasets.ray_engine import RayAnalysis
    from mmstudio.datasets.records import read_records
    from mmstudio.models.registry import get_model

    data = write_dataset(tmp_path / "data", count=40)
    dataset = read_records(data)
    local_out, ray_out = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    analyzer = Analyzer(get_model("digits", torch.device("cpu")), "cpu", explain=False)
    LocalAnalysis(analyzer, dataset, local_out, batch_size=8).run()
    written = RayAnalysis(None, dataset, ray_out, batch_size=8, actors=2, device="cpu").run()

    assert written == len(dataset.records)
    local_rows, ray_rows = _same_schema_and_ids(local_out, ray_out)
    for record_id, expected in local_rows.items():
        got = ray_rows[record_id]
        for column, value in expected.items():
            if column in FLOAT_COLUMNS and value is not None:
                np.testing.assert_allclose(got[column], value, atol=1e-4, err_msg=column)
            elif isinstance(value, float):
                assert got[column] == pytest.approx(value, abs=1e-4), column
            else:
                assert got[column] == value, (record_id, column)
    assert {i for i, row in ray_rows.items() if row["error"]} == set(BROKEN_IDS)

    # Resuming on Ray skips what is there and adds nothing twice.
    again = RayAnalysis(None, dataset, ray_out, batch_size=8, actors=2, device="cpu", resume=True)
    assert again.run() == 0
    assert len(pads.dataset(str(ray_out)).to_table(columns=["id"])) == len(dataset.records)


def test_ray_engine_compares_two_models_with_the_local_engines_rows(ray_instance, tmp_path):
    from mmstudio.analysis import load_analyzer
    from mmstudio.datasets.engine import LocalAnalysis
    from mmstudio.datasets.ray_engine import RayAnalysis
    from mmstudio.datasets.records import read_records
    from mmstudio.inputs.errors import InputError
    from mmstudio.models import save_checkpoint
    from tests.core.helpers import tiny_model

    second = save_checkpoint(tiny_model("gated", seed=1), tmp_path / "gated")
    data = write_dataset(tmp_path / "data", count=16)
    dataset = read_records(data)
    local_out, ray_out = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    analyzer = load_analyzer(None, "cpu", explain=False)
    compare = load_analyzer(str(second), "cpu", explain=False)
    LocalAnalysis(analyzer, dataset, local_out, batch_size=8, compare=compare).run()
    RayAnalysis(
        None, dataset, ray_out, batch_size=8, actors=2, device="cpu", compare=str(second)
    ).run()

    local_rows, ray_rows = _same_schema_and_ids(local_out, ray_out)
    for record_id, expected in local_rows.items():
        got = ray_rows[record_id]
        for column in ("compare_predicted", "compare_error", "agree", "compare_correct"):
            assert got[column] == expected[column], (record_id, column)
        if expected["compare_probabilities"] is not None:
            np.testing.assert_allclose(
                got["compare_probabilities"], expected["compare_probabilities"], atol=1e-4
            )
    # Resuming on Ray with no comparison is refused, as on the local engine.
    with pytest.raises(InputError, match="compared with"):
        RayAnalysis(None, dataset, ray_out, actors=1, device="cpu", resume=True)
