"""Dataset analysis: every record of a dataset through the Analyzer, into Parquet rows and a
summary. The local engine batches and decodes beside the model; the Ray engine runs the same
batches on Ray Data (docs/scale.md).

The names below load on first use, so the command line's ``--help`` does not import torch.
"""

from importlib import import_module

_EXPORTS = {
    "DatasetRecords": "records",
    "read_records": "records",
    "LocalAnalysis": "engine",
    "Progress": "engine",
    "RowLayout": "schema",
    "ResultsStore": "store",
    "SummaryBuilder": "summary",
    "summarize": "summary",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mmstudio.datasets' has no attribute {name!r}")
    return getattr(import_module(f"mmstudio.datasets.{_EXPORTS[name]}"), name)
