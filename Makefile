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

test: install-test
	$(BIN)/pytest $(PYTEST_ARGS)

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
