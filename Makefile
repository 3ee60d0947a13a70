# Everything a fresh machine needs, from Python 3.11+ and Node.js 20+ alone.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CDK := npx --no-install cdk
LAMBDAS := $(wildcard lambda/*/)

.PHONY: setup synth test lint deploy diff destroy smoke eval-guardrail doctor cost bench clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: setup
	$(CDK) synth --quiet

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app.py stacks scripts tests
	$(foreach dir,$(LAMBDAS),$(BIN)/mypy $(dir) &&) true

test: lint
	$(BIN)/pytest

deploy: setup
	$(CDK) deploy --all

diff: setup
	$(CDK) diff --all

destroy: setup
	$(CDK) destroy --all

# After a deploy: call every API route once (scripts/client.py --help for single calls).
smoke: setup
	$(BIN)/python scripts/client.py smoke $(ARGS)

# After a deploy: run tests/guardrail_cases.toml through the deployed guardrail (ARGS="--help" for options).
eval-guardrail: setup
	$(BIN)/python scripts/eval_guardrail.py $(ARGS)

# Before a first deploy: what the account still needs (read-only; needs AWS credentials).
doctor: setup
	$(BIN)/python scripts/doctor.py $(ARGS)

# The idle monthly cost of what `make synth` built, priced from docs/prices.toml.
cost: synth
	$(BIN)/python scripts/cost.py $(ARGS)

bench: setup
	$(BIN)/python scripts/bench.py

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache

.PHONY: template-diff default-assembly compliance guardrail-summary review-docs

# What the working tree would change in the stacks of a git ref, both synthesized offline (BASE=main, default
# HEAD): fails when a stateful resource would be replaced or removed, unless ALLOW_REPLACE=1.
BASE ?= HEAD
template-diff: setup
	$(BIN)/python scripts/template_diff.py --base $(BASE) $(if $(filter 1,$(ALLOW_REPLACE)),--allow-replace) $(ARGS)

# The generated review pages describe the default configuration, whatever cdk.json says, so they follow the code.
DEFAULT_ASSEMBLY := cdk.out/default

default-assembly: setup
	$(CDK) synth --quiet --context 'genai={}' --output $(DEFAULT_ASSEMBLY)

# docs/compliance.md: the cdk-nag packs, open findings and every acknowledgement with its reason.
compliance: default-assembly
	$(BIN)/python scripts/compliance.py --assembly $(DEFAULT_ASSEMBLY)

# docs/guardrail.md: what the guardrail enforces, one line per setting.
guardrail-summary: default-assembly
	$(BIN)/python scripts/guardrail_summary.py --assembly $(DEFAULT_ASSEMBLY)

review-docs: compliance guardrail-summary
