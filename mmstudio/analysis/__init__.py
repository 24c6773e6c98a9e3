"""The Analyzer: Sample -> Analysis, the one entry point the GUI, the CLI and tests use. It takes
the path the model's declared task asks for: classification (analyzer.py) or generation
(answers.py)."""

from mmstudio.analysis.analyzer import Analyzer, load_analyzer
from mmstudio.analysis.efficiency import EFFICIENCY_TOLERANCE

__all__ = ["EFFICIENCY_TOLERANCE", "Analyzer", "load_analyzer"]
