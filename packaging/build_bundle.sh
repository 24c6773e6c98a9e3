#!/usr/bin/env bash
# Build the desktop bundle with PyInstaller (packaging/README.md says why PyInstaller):
#   bash packaging/build_bundle.sh        (make bundle)
# Result: dist/mmstudio/ - run dist/mmstudio/mmstudio; no Python needed on the target machine.
# It freezes the wheel (built here) with the locked dependencies of .venv plus the pinned
# PyInstaller (requirements/bundle.txt). Needs ~12 GB of free disk while it runs, ~6 GB after.
# Check the result with: bash packaging/smoke_bundle.sh   (make bundle-smoke)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
WORK=build/bundle
DIST=dist/mmstudio

[[ -x "$PY" ]] || { echo "build_bundle: $PY is missing; run make test (or make .venv/.installed-dev) first" >&2; exit 1; }
started=$(date +%s)
"$PY" -m pip install --quiet -r requirements/bundle.txt
rm -rf "$WORK" "$DIST"
mkdir -p "$WORK"
# The wheel, unpacked into a plain folder, is what gets frozen: the bundle carries exactly the
# wheel's files and resources, whatever else the checkout holds.
"$PY" -m build --wheel --no-isolation --outdir "$WORK/wheel" . >"$WORK/wheel.log"
"$PY" -m pip install --quiet --no-deps --no-index --no-compile --target "$WORK/site" \
    "$WORK"/wheel/mmstudio-*.whl
PYTHONPATH="$PWD/$WORK/site" MMSTUDIO_BUNDLE_SITE="$PWD/$WORK/site" \
    nice -n 10 "$PY" -m PyInstaller --noconfirm --clean \
    --log-level WARN --workpath "$WORK/pyinstaller" --distpath dist packaging/mmstudio.spec
finished=$(date +%s)

"$PY" - "$DIST" $((finished - started)) <<'PY'
import json, sys, platform, os
from importlib.metadata import version
from pathlib import Path
dist, seconds = Path(sys.argv[1]), int(sys.argv[2])
size = sum(p.stat().st_size for p in dist.rglob("*") if p.is_file() and not p.is_symlink())
info = {
    "tool": f"PyInstaller {version('pyinstaller')}",
    "build_seconds": seconds,
    "size_bytes": size,
    "files": sum(1 for p in dist.rglob("*") if p.is_file()),
    "torch": version("torch"),
    "python": platform.python_version(),
    "cpus": os.cpu_count(),
    "build_load_average": round(os.getloadavg()[0], 1),  # other work slowing the build down
}
(dist / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")
print(f"built {dist} in {seconds} s: {size / 2**30:.2f} GiB, {info['files']} files")
PY
rm -rf "$WORK"  # PyInstaller's work folder is as big as the bundle; only the bundle is kept
