# Two commands (see README):
#   make run   — set up a virtualenv from requirements.txt and start the app on 127.0.0.1:8501
#   make test  — set up everything the tests need (virtualenv, Debian's chromium, CJK fonts, a JRE), then
#                ruff (lint), mypy (strict on lib/, per pyproject.toml) and pytest, stopping at the first that fails
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501

.PHONY: run test lint typecheck setup setup-dev system-deps bench sample clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.runtime

setup-dev: $(VENV)/.dev system-deps

# Debian's chromium for browser tests, Noto CJK so Chinese renders in screenshots and chart images,
# LibreOffice Impress to check that the review deck converts to PDF, a Java runtime for the Spark engine's test.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! [ -d /usr/share/fonts/opentype/noto ] || ! command -v soffice >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk libreoffice-impress default-jre-headless >/dev/null; \
	fi

run: setup
	$(PY) -m streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

# The checkers read their settings from pyproject.toml; make stops at the first one that fails.
lint: $(VENV)/.dev
	$(PY) -m ruff check .

typecheck: $(VENV)/.dev
	$(PY) -m mypy

test: setup-dev lint typecheck
	$(PY) -m pytest -q -p no:cacheprovider tests

# Benchmarks run as modules from the repository root, so they import `lib` without patching sys.path.
bench: setup
	$(PY) -m bench.run_all

sample: setup
	$(PY) -m lib.importing.sample_store

clean:
	rm -rf $(VENV) data tests/artifacts
