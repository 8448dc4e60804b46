# The two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NATIVE := $(VENV)/.native

.PHONY: demo test lint types imports unit daemon-tests reliability man bench clean

$(STAMP): pyproject.toml setup.py vcrdt/worktree/_scan.c vcrdt/sync/_trees.c vcrdt/porcelain/_logtext.c vcrdt/store/_rows.c
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "vcrdt needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1). Run: make PYTHON=python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

# The native client (vcrdt/daemon/client.c) replaces the Python console script: a command then
# starts no Python at all when the command server is up. Without a C compiler the Python
# script stays, and everything works, only each command starts slower.
# Its constants are generated from vcrdt/daemon/protocol.py at each build.
$(NATIVE): $(STAMP) vcrdt/daemon/client.c vcrdt/daemon/native.py vcrdt/daemon/protocol.py
	-$(BIN)/python -m vcrdt.daemon.native $(BIN)/vcrdt
	touch $(NATIVE)

demo: $(NATIVE)
	bash fixtures/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check vcrdt tests bench fixtures
	$(BIN)/ruff format --check vcrdt tests bench fixtures

types: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(NATIVE)
	$(BIN)/pytest -n 2 -q -m "not slow"

# The CLI tests again, each command through a real command server and the native client
# instead of in-process (the path a user with `vcrdt daemon start` takes); about 2.5 minutes.
daemon-tests: $(NATIVE)
	$(BIN)/pytest -n 2 -q -m "not slow" --through-daemon tests/cli

# The slow tier, its own CI step: crash runs (SIGKILL at random points), hostile inputs and
# race rounds, then the one-line summary of what they saw (tests/reliability/summary.py), printed
# even when a test failed (the target fails then too).
RELIABILITY_LOG := $(CURDIR)/.reliability.jsonl
reliability: $(NATIVE)
	rm -f $(RELIABILITY_LOG)
	VCRDT_RELIABILITY_LOG=$(RELIABILITY_LOG) $(BIN)/pytest -n 2 -q -m "slow or hostile" tests; \
	status=$$?; $(BIN)/python -m tests.reliability.summary $(RELIABILITY_LOG) && exit $$status

test: lint types imports unit daemon-tests

man: $(STAMP)
	$(BIN)/python -m vcrdt.cli.manpages man

bench: $(NATIVE)
	$(BIN)/python -m compileall -q vcrdt  # byte-compile, as a regular install would
	$(BIN)/python bench/foundation.py

clean:
	rm -rf $(VENV) build *.egg-info
