# The two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint types imports unit man bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

demo: $(STAMP)
	bash fixtures/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check vcrdt tests bench fixtures
	$(BIN)/ruff format --check vcrdt tests bench fixtures

types: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest -n 2 -q

test: lint types imports unit

man: $(STAMP)
	$(BIN)/python -m vcrdt.cli.manpages man

bench: $(STAMP)
	$(BIN)/python -m compileall -q vcrdt  # byte-compile, as a regular install would
	$(BIN)/python bench/foundation.py

clean:
	rm -rf $(VENV) build *.egg-info
