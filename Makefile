# Two entry points that do all set-up on a fresh machine:
#   make run   - create .venv, install mmstudio, open the studio on the built-in model
#   make test  - the same set-up plus development tools, then the whole test suite
# System packages (microphone, webcam, real windows, speech): see README.md or `make system-deps`.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint benchmarks system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m mmstudio

lint: $(STAMP)
	$(VENV)/bin/lint-imports

# Live mode's microphone tests run in a process of their own: PortAudio's device list and
# PulseAudio source are process-wide state, fixed when sounddevice first initialises.
test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest --ignore=tests/gui/test_live.py
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest tests/gui/test_live.py

benchmarks: $(STAMP)
	$(PY) benchmarks/analysis_latency.py
	$(PY) benchmarks/ui_responsiveness.py

system-deps:
	bash packaging/install_system_deps.sh

clean:
	rm -rf $(VENV) build dist *.egg-info tests/artifacts
