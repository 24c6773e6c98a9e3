"""The Analyzer: Sample -> Analysis, the one entry point the GUI, the CLI and tests use. It takes
the path the model's declared task asks for: classification (analyzer.py) or generation
(answers.py).

The names are imported on first use (``mmstudio.lazy``): live mode imports its torch-free
helpers from ``mmstudio.analysis.live`` without pulling in torch with the package."""

from mmstudio.lazy import lazy_exports

_EXPORTS = {
    "Analyzer": "mmstudio.analysis.analyzer",
    "load_analyzer": "mmstudio.analysis.analyzer",
    "EFFICIENCY_TOLERANCE": "mmstudio.analysis.efficiency",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
