# The stable contract: `make install`, `make run`, `make test` (see README).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: install run test lint typecheck unit bench unasync openapi fuzz

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[all,dev]'  # the SDK, the CLI, the service, the tools
	touch $@

run: install
	$(BIN)/ztd serve --demo

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: install
	$(BIN)/mypy

# Most tests wait on subprocesses and sockets rather than compute, so several run at once
# (pytest-xdist). Tests marked `timing` assert wall-clock bounds (a webhook within a second,
# progress every second, benches' ceilings): they run after the rest, one at a time, on a
# machine nothing else of ours loads.
TEST_WORKERS ?= 3

unit: install
	$(BIN)/pytest -q -n $(TEST_WORKERS) -m "not timing"
	$(BIN)/pytest -q -m timing

test: lint typecheck unit

bench: install
	$(BIN)/python bench/identity.py

# The SDK's sync operations and poller are generated from their async originals.
unasync: install
	$(BIN)/python scripts/unasync_client.py

# docs/openapi.json is generated from the code; a test fails while it is stale.
openapi: install
	$(BIN)/python -m ztd.server.api.openapi docs/openapi.json

# A long schemathesis run (make test runs 2 rounds of 10 examples per operation and mode).
fuzz: install
	ZTD_FUZZ_ROUNDS=$${ZTD_FUZZ_ROUNDS:-20} $(BIN)/pytest -q -s tests/server/api/test_fuzz_contract.py
