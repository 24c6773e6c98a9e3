"""The core needs no Qt: proven in a fresh interpreter, and by the import-linter contract."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_or_skip

ROOT = Path(__file__).resolve().parents[2]

_CORE_RUN = """
import sys
from tests.core.helpers import random_sample, tiny_model
from mmstudio.analysis import Analyzer
from mmstudio.cli import format_summary
from mmstudio.studio import Studio
Studio().sample()
analysis = Analyzer(tiny_model("concat"), "cpu").analyze(random_sample(0))
format_summary(analysis)
qt = sorted(m for m in sys.modules if m.split(".")[0] in {"PySide6", "shiboken6", "pyqtgraph"})
print("QT:", qt)
"""


def test_core_runs_without_importing_qt():
    result = subprocess.run(
        [sys.executable, "-c", _CORE_RUN], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "QT: []" in result.stdout


def test_package_import_is_light():
    code = "import sys, mmstudio, mmstudio.cli, mmstudio.models.registry; print(sorted(m for m in ('torch', 'PySide6') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_import_linter_contract_holds():
    executable = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    require_or_skip(
        executable is not None, "import-linter is not installed (pip install -e .[dev])"
    )
    result = subprocess.run([executable], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout
