# Quick start: `make demo` and `make test` each build .venv from nothing with Python 3.11.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
TORCH  ?= torch==2.13.0

.PHONY: demo test test-all test-browser lint format bench-speed clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# CPU build of torch first, pinned, so the project's `torch>=2.2` pulls nothing bigger.
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/inverselab bench --suite quick --out demo
	@echo "open demo/index.html (self-contained) or read demo/report.md"

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider

# The HTML-report test in headless Chromium (part of `make test` wherever /usr/bin/chromium exists).
test-browser: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { echo "install Chromium first: apt-get install chromium"; exit 2; }
	$(PY) -m pytest -q -m browser -p no:cacheprovider

test-all: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m ruff format --check src tests benchmarks examples

format: $(STAMP)
	$(PY) -m ruff format src tests benchmarks examples
	$(PY) -m ruff check --fix src tests benchmarks examples

bench-speed: $(STAMP)
	for f in benchmarks/*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) demo bench-results build src/*.egg-info
