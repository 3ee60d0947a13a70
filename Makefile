# Everything a fresh machine needs, from Python 3.11+ and Node.js 20+ alone.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CDK := npx --no-install cdk
LAMBDAS := $(wildcard lambda/*/)
WORKFLOWS := $(wildcard .github/workflows/*.yml)
# PROFILE=prod selects the settings profile for synth, deploy, diff and destroy without editing cdk.json.
PROFILE_CONTEXT := $(if $(PROFILE),-c genai.profile=$(PROFILE))

.DEFAULT_GOAL := help
.PHONY: help setup lock synth test lint deploy diff destroy smoke eval-guardrail doctor cost bench clean

## Every target, one line each.
help:
	@awk '/^## /{doc=substr($$0, 4); next} /^[a-z][a-z-]*:/{if (doc) printf "  %-16s %s\n", substr($$1, 1, length($$1) - 1), doc} {doc=""}' $(MAKEFILE_LIST)

## Create .venv from requirements-dev.lock (hash-checked) and install the pinned CDK CLI.
setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Regenerate requirements-dev.lock from requirements*.txt (ARGS=--upgrade also moves unpinned packages).
lock: $(VENV)/.installed
	$(BIN)/uv pip compile requirements-dev.txt --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" --output-file requirements-dev.lock --quiet $(ARGS)

## Synthesize into cdk.out/ and fail on any open compliance finding (PROFILE=prod for the prod profile).
synth: setup
	$(CDK) synth --quiet $(PROFILE_CONTEXT)

## Ruff, mypy and the GitHub workflows' schema.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app.py stacks scripts tests
	$(foreach dir,$(LAMBDAS),$(BIN)/mypy $(dir) &&) true
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema custom.github-workflows-require-timeout $(WORKFLOWS)

## Lint, then the whole test suite (offline).
test: lint
	$(BIN)/pytest

## Deploy every stack (needs AWS credentials; PROFILE=prod, ARGS for the CDK CLI).
deploy: setup
	$(CDK) deploy --all $(PROFILE_CONTEXT) $(ARGS)

## What a deploy would change in the deployed stacks (needs AWS credentials).
diff: setup
	$(CDK) diff --all $(PROFILE_CONTEXT)

## Delete the stacks; data stores are retained (needs AWS credentials).
destroy: setup
	$(CDK) destroy --all $(PROFILE_CONTEXT)

## After a deploy: call every API route once (scripts/client.py --help for single calls).
smoke: setup
	$(BIN)/python scripts/client.py smoke $(ARGS)

## After a deploy: run tests/guardrail_cases.toml through the deployed guardrail (ARGS="--help" for options).
eval-guardrail: setup
	$(BIN)/python scripts/eval_guardrail.py $(ARGS)

## Before a first deploy: what the account still needs (read-only; needs AWS credentials).
doctor: setup
	$(BIN)/python scripts/doctor.py $(ARGS)

## The idle monthly cost of what `make synth` built, priced from docs/prices.toml.
cost: synth
	$(BIN)/python scripts/cost.py $(ARGS)

## Synth cost, handler cold import and the wall time of `make test`.
bench: setup
	$(BIN)/python scripts/bench.py

## Remove cdk.out and the tools' caches.
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
