"""Writing a (filtered) results table as Parquet or CSV.

CSV has no list cells, so the probability vector and the coalition columns are spread into one
column per label or coalition (a generative model's answers and their exact match under each
coalition too: ``answer_<coalition>``, ``correct_<coalition>``, empty where they were not
generated), the notes are joined, and the embedding, a few hundred numbers of no use in a
spreadsheet, is left to the Parquet export.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from mmstudio.datasets.results_metadata import layout_of
from mmstudio.inputs.errors import InputError

FORMATS = (".parquet", ".csv")


def write_table(table: pa.Table, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"export as {' or '.join(FORMATS)}", path)
    temporary = path.with_name(f".{path.name}.writing")
    try:
        if path.suffix.lower() == ".parquet":
            pq.write_table(table, temporary)
        else:
            pacsv.write_csv(flat_table(table), temporary)
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise InputError(f"cannot write the file ({error.strerror or error})", path) from None
    return path


def flat_table(table: pa.Table) -> pa.Table:
    """The table with list columns spread out (fixed-size lists) or dropped."""
    info = layout_of(table.schema)
    names = {
        "probabilities": [f"p_{label}" for label in info.get("labels", [])],
        "coalition_values": [f"value_{c}" for c in info.get("coalitions", [])],
        "coalition_predictions": [f"predicted_{c}" for c in info.get("coalitions", [])],
        "coalition_answers": [f"answer_{c}" for c in info.get("coalitions", [])],
        "coalition_correct": [f"correct_{c}" for c in info.get("coalitions", [])],
    }
    columns, fields = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        if field.name == "notes":
            columns.append(pc.binary_join(column, "; "))
            fields.append("notes")
        elif field.name in names and (
            pa.types.is_fixed_size_list(field.type) or pa.types.is_list(field.type)
        ):
            # A generative row's lists hold one item per coalition, or are null as a whole.
            for k, name in enumerate(names[field.name]):
                columns.append(pc.list_element(column, k))
                fields.append(name)
        elif not pa.types.is_list(field.type) and not pa.types.is_fixed_size_list(field.type):
            columns.append(column)
            fields.append(field.name)
    return pa.table(columns, names=fields)
