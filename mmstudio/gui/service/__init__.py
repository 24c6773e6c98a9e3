"""The window's analysis service: one worker thread, one model, three lanes of work.

See :mod:`mmstudio.gui.service.service` for the lanes and the background-job API.
"""

from .lanes import Job
from .latest import LatestSlot
from .model_host import ModelInfo, describe_error
from .service import AnalysisService

__all__ = ["AnalysisService", "Job", "LatestSlot", "ModelInfo", "describe_error"]
