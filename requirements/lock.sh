#!/usr/bin/env bash
# Regenerate the lock files from pyproject.toml with uv (universal: every platform and every
# Python the project supports, with markers). Run after changing a dependency, then run the whole
# suite on the new lock before committing it:   bash requirements/lock.sh && make clean test
#   app.txt  what `make run` installs: the application and everything it imports
#   dev.txt  what `make test` and CI install: app.txt's versions plus the test and scale-out tools
#   bundle.txt  what `make bundle` adds: dev.txt's versions plus PyInstaller
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null || { echo "uv is needed: pip install uv" >&2; exit 1; }
uv pip compile pyproject.toml --universal --python-version 3.11 --quiet -o requirements/app.txt
uv pip compile pyproject.toml --universal --python-version 3.11 --quiet --extra dev --extra scale \
    -c requirements/app.txt -o requirements/dev.txt
uv pip compile pyproject.toml --universal --python-version 3.11 --quiet --extra bundle \
    -c requirements/dev.txt -o requirements/bundle.txt
