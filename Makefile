# Bazaar: `make run` starts the local stack, `make test` runs every test. Both bootstrap what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 3000
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: bootstrap run test test-fast bench load soak scaling synth layer token clean help
help:
	@echo "make run | make test | make bench | make load | make soak | make scaling | make synth STAGE=dev | make token USER=<name> | make layer | make clean"

$(VENV)/.installed: requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements/dev.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

build/layer/.built: layers/requirements.txt layers/build.sh layers/bytecode.py shared/bazaar/runtime.py | $(VENV)/.installed
	PIP=$(VENV)/bin/pip bash layers/build.sh build/layer
	touch $@

bootstrap: $(VENV)/.installed node_modules/.installed

layer: build/layer/.built

run: $(VENV)/.installed
	PORT=$(PORT) $(PY) -m local run

token: $(VENV)/.installed
	@$(PY) -m local token "$(USER)"

test: bootstrap layer
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not infra and not e2e" $(PYTEST_ARGS)

synth: bootstrap layer
	npx cdk synth -c stage=$(or $(STAGE),dev) --no-notices -q

bench: bootstrap layer
	$(PY) -m tests.bench

# The soak's workload through a fresh local stack for at most 60 s: LOAD_ARGS="--seconds 30 --users 8" (tests/load/load.py)
load: $(VENV)/.installed
	$(PY) -m tests.load.load $(LOAD_ARGS)

# Load through a fresh local stack: SOAK_ARGS="--minutes 30 --users 32" (see tests/load/soak.py)
soak: $(VENV)/.installed
	$(PY) -m tests.load.soak $(SOAK_ARGS)

# PATCH latency at 100 and 1,500 products and memory per 1,000 writes, in one run (tests/load/scaling.py)
scaling: $(VENV)/.installed
	$(PY) -m tests.load.scaling $(SCALING_ARGS)

clean:
	rm -rf $(VENV) node_modules build cdk.out .local .pytest_cache
