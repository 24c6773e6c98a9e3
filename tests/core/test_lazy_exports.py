"""The packages' lazily exported names: found on first use, listed by dir(), and importing the
packages alone does not pull in torch."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_a_lazy_name_is_the_defining_modules_own_object_and_dir_lists_it():
    import mmstudio.datasets
    import mmstudio.models
    from mmstudio.datasets import summary
    from mmstudio.models import registry

    assert mmstudio.datasets.summarize is summary.summarize
    assert mmstudio.models.get_model is registry.get_model
    assert {"summarize", "ResultsStore", "__doc__"} <= set(dir(mmstudio.datasets))
    assert set(mmstudio.models.__all__) <= set(dir(mmstudio.models))
    import mmstudio.analysis
    from mmstudio.analysis import analyzer

    assert mmstudio.analysis.load_analyzer is analyzer.load_analyzer


def test_an_unknown_name_is_an_attribute_error_naming_the_package():
    import mmstudio.models

    with pytest.raises(AttributeError, match="'mmstudio.models' has no attribute 'FusionNett'"):
        mmstudio.models.FusionNett  # noqa: B018
    assert not hasattr(mmstudio.models, "FusionNett")


def test_importing_the_packages_imports_no_torch():
    code = (
        "import sys, mmstudio.models, mmstudio.datasets, mmstudio.models.zeroshot\n"
        "import mmstudio.analysis, mmstudio.analysis.live\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"
