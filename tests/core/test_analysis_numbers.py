"""The Analysis's numbers keep the precision they were computed in through every round trip."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq

from mmstudio.analysis import Analyzer
from mmstudio.datasets.schema import layout_for
from mmstudio.result import Analysis
from mmstudio.training.manifest import Record
from tests.core.helpers import random_sample, tiny_model


def _efficiency_gap(analysis: Analysis) -> float:
    """|base + sum of Shapley - full|, and the same against the coalition values themselves."""
    values = analysis.coalition_values
    total = sum(analysis.shapley.values())
    return max(
        abs(analysis.shapley_base + total - analysis.full_score),
        abs(total - (values[-1] - values[0])),
    )


def test_coalition_values_stay_float64_through_json_and_efficiency_holds():
    analysis = Analyzer(tiny_model(), "cpu").analyze(random_sample(3))
    assert analysis.coalition_values.dtype == np.float64
    restored = Analysis.from_dict(json.loads(analysis.to_json()))
    assert restored.coalition_values.dtype == np.float64
    # Bit for bit: float32 would round each value at about 1e-7 relative.
    assert restored.coalition_values.tobytes() == analysis.coalition_values.tobytes()
    assert restored.shapley == analysis.shapley
    assert _efficiency_gap(restored) < 1e-12
    assert restored.shapley_base == restored.coalition_values[0]
    assert restored.full_score == restored.coalition_values[-1]


def test_coalition_values_stay_float64_through_parquet(tmp_path):
    analyzer = Analyzer(tiny_model(), "cpu")
    analysis = analyzer.analyze(random_sample(5))
    record = Record(id="r0", label="7", text="seven")
    layout = layout_for(analyzer, [record])
    pq.write_table(layout.table([record], [analysis]), tmp_path / "rows.parquet")
    table = pq.read_table(tmp_path / "rows.parquet")
    column = table.column("coalition_values")
    assert str(column.type.value_type) == "double"
    values = np.asarray(column.to_pylist()[0], dtype=np.float64)
    assert values.tobytes() == analysis.coalition_values.tobytes()
    shapley = sum(table.column(f"shapley_{m}")[0].as_py() for m in analysis.present)
    assert abs(shapley - (values[-1] - values[0])) < 1e-12
