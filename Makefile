# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-test lint typecheck bench clean hardening injection

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/vclient db upgrade
	$(BIN)/vclient demo --base-url http://$(HOST):$(PORT)
	$(BIN)/vclient serve --host $(HOST) --port $(PORT)

# `make test` runs every test once, in three phases, and fails if any fails (all run):
# 1. the in-process tests on TEST_WORKERS pytest-xdist workers (each test has its own
#    database, Redis key prefix, tmp dir and OS-chosen ports);
# 2. those that start real server processes or browsers (slow, browser) on
#    PROCESS_WORKERS workers: much of their time is spent waiting on sockets, so two
#    workers kept ~1.2 of the 2 cores busy; here (2026-12-04) 2 -> 3 workers took this
#    phase 7:44 -> 6:46 (4: ~6:10, but an end request then outlasted a reply three times);
# 3. serially, those that assert a wall-clock bound (timing): sharing the 2 cores with a
#    second worker is what they must not do; and those that change what every test on the
#    shared servers sees (serial: a SCRIPT FLUSH).
# With PYTEST_ARGS (e.g. `make test PYTEST_ARGS=tests/unit`) it is plain serial
# `pytest $(PYTEST_ARGS)`; add `-n 2` there to spread in-process tests over workers.
TEST_WORKERS ?= 2
PROCESS_WORKERS ?= 3
PROCESS_TESTS := slow or browser
ALONE := timing or serial
test: install-test
ifeq ($(strip $(PYTEST_ARGS)),)
	status=0; \
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not ($(PROCESS_TESTS) or $(ALONE))" || status=$$?; \
	$(BIN)/pytest -n $(PROCESS_WORKERS) -m "($(PROCESS_TESTS)) and not ($(ALONE))" || status=$$?; \
	$(BIN)/pytest -m "$(ALONE)" || status=$$?; \
	exit $$status
else
	$(BIN)/pytest $(PYTEST_ARGS)
endif

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python .ci/module_size.py

typecheck: install-test
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# BENCH_ARGS: e.g. --quick, --configs baseline,memory-1w, --connect-storm (docs/performance.md).
bench: install
	$(BIN)/python -m bench.streaming
	$(BIN)/python -m bench.capacity $(BENCH_ARGS)

# The hardening suite (issue 16) with its full repetition counts and outage lengths; it
# prints each measured figure (docs/reliability.md records a full run's).
hardening: install-test
	HARDENING_FULL=1 $(BIN)/pytest -m hardening -s tests/hardening $(PYTEST_ARGS)

# The prompt-injection attempts against a real provider (docs/reliability.md), e.g.
# `make injection LLM_PROVIDER=anthropic ANTHROPIC_API_KEY=sk-... LLM_MODEL=...`;
# skipped without the provider's key. Without LLM_PROVIDER: the scripted client.
injection: install-test
	INJECTION_PROVIDER=$(or $(LLM_PROVIDER),scripted) INJECTION_MODEL=$(LLM_MODEL) \
		$(BIN)/pytest -s -rs tests/hardening/test_people_injection.py $(PYTEST_ARGS)
