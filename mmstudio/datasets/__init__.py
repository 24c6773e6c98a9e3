"""Dataset analysis: every record of a dataset through the Analyzer, into Parquet rows and a
summary. The local engine batches and decodes beside the model; the Ray engine runs the same
batches on Ray Data (docs/scale.md).

The names below load on first use, so the command line's ``--help`` does not import torch.
"""

from mmstudio.lazy import lazy_exports

_EXPORTS = {
    "DatasetRecords": "mmstudio.datasets.records",
    "read_records": "mmstudio.datasets.records",
    "LocalAnalysis": "mmstudio.datasets.engine",
    "Progress": "mmstudio.datasets.engine",
    "RowLayout": "mmstudio.datasets.schema",
    "ResultsStore": "mmstudio.datasets.store",
    "SummaryBuilder": "mmstudio.datasets.summary",
    "summarize": "mmstudio.datasets.summary",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
