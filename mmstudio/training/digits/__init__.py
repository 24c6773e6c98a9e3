"""The reproducible image + speech + text digits dataset behind the default model.

See :mod:`mmstudio.training.digits.build` for what is built and how it is held out.
"""

from .build import LABELS, SIZES, build_digits_dataset, main
from .samples import write_samples

__all__ = ["LABELS", "SIZES", "build_digits_dataset", "main", "write_samples"]
