# Bazaar: `make run` starts the local stack, `make test` runs every test. Both bootstrap what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# The outside judges (cfn-lint + serverless rules, checkov, bandit, pip-audit): their pins clash with the product's.
JUDGES := .venv-judges
PORT ?= 3000
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: bootstrap run test test-fast schemas bench load soak scaling synth layer token audit judges audit-deps dlq redrive mail clean help
help:
	@echo "make run | make test | make bench | make load | make soak | make scaling | make synth STAGE=dev | make token USER=<name>"
	@echo "make audit [ACTOR=..] | make judges (cfn-lint, checkov, bandit on every stage) | make audit-deps (pip-audit)"
	@echo "make dlq [STAGE=dev] | make redrive NAME=<consumer> [STAGE=dev] | make mail"
	@echo "make layer | make schemas | make clean"

$(VENV)/.installed: requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements/dev.lock
	touch $@

$(JUDGES)/.installed: requirements/judges.lock
	$(PYTHON) -m venv $(JUDGES)
	$(JUDGES)/bin/python -m pip install -q -r requirements/judges.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

build/layer/.built: layers/requirements.txt layers/build.sh layers/bytecode.py layers/sdk_data.py layers/patches.py shared/bazaar/runtime.py | $(VENV)/.installed
	PIP=$(VENV)/bin/pip bash layers/build.sh build/layer
	touch $@

bootstrap: $(VENV)/.installed node_modules/.installed

layer: build/layer/.built

run: $(VENV)/.installed
	PORT=$(PORT) $(PY) -m local run

token: $(VENV)/.installed
	@$(PY) -m local token "$(USER)"

# Without STAGE: the running local stack; with STAGE=dev|staging|prod: that stage in AWS (your credentials).
dlq: $(VENV)/.installed
	@$(PY) -m ops dlq $(if $(STAGE),--stage $(STAGE))

redrive: $(VENV)/.installed
	@$(PY) -m ops redrive "$(NAME)" $(if $(STAGE),--stage $(STAGE))

mail: $(VENV)/.installed
	@$(PY) -m local mail

# The three environments and the layer are independent: built in parallel (a fresh bootstrap takes about 1.7 min
# instead of 2.8 on two cores).
test:
	@$(MAKE) --no-print-directory -j4 bootstrap layer $(JUDGES)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not infra and not e2e" $(PYTEST_ARGS)

# The validators the functions run, compiled from the models (bazaar.schemas.compiler): after changing a model.
schemas: $(VENV)/.installed
	PYTHONPATH=shared $(PY) -m bazaar.schemas.compiler

synth: bootstrap layer
	npx cdk synth -c stage=$(or $(STAGE),dev) $(if $(ALARM_EMAILS),-c alarmEmails=$(ALARM_EMAILS)) --no-notices -q

# Who did what, when, in the running local stack: `make audit ACTOR=carol OUTCOME=denied SINCE=1h`.
# Filters: ACTOR (username or sub), ACTION, RESOURCE (glob), OUTCOME, SINCE/UNTIL (15m, 2h, 1d or RFC 3339).
audit: $(VENV)/.installed
	@$(PY) -m local audit $(if $(ACTOR),--actor '$(ACTOR)') $(if $(ACTION),--action '$(ACTION)') \
		$(if $(RESOURCE),--resource '$(RESOURCE)') $(if $(OUTCOME),--outcome '$(OUTCOME)') \
		$(if $(SINCE),--since '$(SINCE)') $(if $(UNTIL),--until '$(UNTIL)') $(if $(LIMIT),--limit '$(LIMIT)') $(if $(JSON),--json)

# The outside judges alone (they also run inside `make test`): cfn-lint + serverless rules and checkov on every
# stage's templates, bandit on the code.
judges: bootstrap layer $(JUDGES)/.installed
	$(PY) -m pytest tests/infra/test_judges.py $(PYTEST_ARGS)

# pip-audit of both lock files; needs a vulnerability database (PyPI's JSON API or OSV) and fails without one.
audit-deps: $(JUDGES)/.installed $(VENV)/.installed
	$(PY) -m pytest tests/infra/test_judges.py -m network $(PYTEST_ARGS)

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
	rm -rf $(VENV) $(JUDGES) node_modules build cdk.out .local .pytest_cache
