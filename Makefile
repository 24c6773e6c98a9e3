# Two entry points that do all set-up on a fresh machine:
#   make run   - create .venv, install mmstudio from the lock, open the studio on the built-in model
#   make test  - the same set-up plus development tools, then lint and the whole test suite
# Both install exactly the versions in requirements/*.txt (regenerate: bash requirements/lock.sh).
# System packages (microphone, webcam, real windows, speech): see README.md or `make system-deps`.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
APP_STAMP := $(VENV)/.installed-app
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-lowest lint check-lock benchmarks bundle bundle-smoke install-desktop system-deps lock clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(APP_STAMP): $(VENV)/bin/python pyproject.toml requirements/app.txt
	$(PY) -m pip install --quiet -r requirements/app.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(APP_STAMP)

$(DEV_STAMP): $(APP_STAMP) requirements/dev.txt
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $(DEV_STAMP)

run: $(APP_STAMP)
	$(PY) -m mmstudio

check-lock: $(DEV_STAMP)
	$(PY) packaging/check_lock.py requirements/dev.txt

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check mmstudio tests benchmarks packaging examples setup.py
	$(VENV)/bin/ruff format --check mmstudio tests benchmarks packaging examples setup.py resources
	$(VENV)/bin/lint-imports

# Live mode's tests run in a process of their own: PortAudio's device list and PulseAudio
# source are process-wide state, fixed when sounddevice first initialises. (The recording tests
# in the first run re-initialise PortAudio before each take: tests/gui/virtual_microphone.py.)
# Each run lists its skipped tests at the end and, under MMSTUDIO_REQUIRE_ALL=1, fails on any
# but a GPU-only one on a machine without a GPU.
test: check-lock lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest --ignore=tests/gui/test_live.py
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest tests/gui/test_live.py

# The floors in pyproject.toml, tested: a fresh $(LOWEST) gets the lowest version that pyproject
# allows of every direct dependency (uv's lowest-direct resolution; the torch set stays exactly as
# locked), each must land exactly on its declared floor, then the Qt-free tests (core, generative
# models, digits-chat) run on them. No Qt test runs here: the window's floors (PySide6,
# pyqtgraph, superqt) ride on the same install only.
LOWEST ?= .venv-lowest
LOWEST_EXTRAS := dev data scale

test-lowest: $(DEV_STAMP)
	rm -rf $(LOWEST)
	$(PYTHON) -m venv $(LOWEST)
	grep -E '^(torch|torchvision|torchaudio)==' requirements/app.txt > $(LOWEST)/torch-set.txt
	$(VENV)/bin/uv pip compile pyproject.toml --quiet --resolution lowest-direct --no-build \
	    $(LOWEST_EXTRAS:%=--extra %) -c $(LOWEST)/torch-set.txt \
	    --python $(LOWEST)/bin/python -o $(LOWEST)/lowest.txt
	$(VENV)/bin/uv pip install --quiet --python $(LOWEST)/bin/python -r $(LOWEST)/lowest.txt
	$(VENV)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --no-deps -e .
	$(LOWEST)/bin/python packaging/check_floors.py $(LOWEST_EXTRAS)
	$(LOWEST)/bin/python -m pytest tests/core tests/generative tests/chat

benchmarks: $(DEV_STAMP)
	$(PY) benchmarks/analysis_latency.py
	$(PY) benchmarks/ui_responsiveness.py

bundle: $(DEV_STAMP)
	bash packaging/build_bundle.sh

bundle-smoke:
	bash packaging/smoke_bundle.sh

install-desktop:
	bash packaging/install_desktop.sh

lock:
	bash requirements/lock.sh

system-deps:
	bash packaging/install_system_deps.sh

clean:
	rm -rf $(VENV) $(LOWEST) build dist *.egg-info tests/artifacts
