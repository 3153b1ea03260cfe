# The README's two commands: `make demo` and `make test`. Both set everything up.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo test lint sysdeps bench package clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[all,test]'
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/lens run --demo

# System packages the test suite needs (Chromium, Prometheus, PostgreSQL), installed
# only when missing. CI runs as root on a Debian machine.
sysdeps:
	bash scripts/sysdeps.sh

lint: $(STAMP)
	$(BIN)/ruff check lens tests bench lambdas scripts

test: $(STAMP) sysdeps litellm
	$(BIN)/ruff check lens tests bench lambdas scripts
	$(BIN)/lint-imports
	$(BIN)/mypy lens
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The LiteLLM proxy for tests/servers in its own venv (it pins packages the project's venv
# needs newer); one-time install, then reused.
.PHONY: litellm
litellm:
	bash scripts/litellm-venv.sh >/dev/null

bench: $(STAMP)
	$(BIN)/python -m bench

# Lambda runner zip for python3.12: arm64 by default, `make package ARCH=x86_64` for x86_64.
ARCH ?= arm64
package: $(STAMP)
	$(BIN)/python -m lambdas.runner.build --arch $(ARCH)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

# Terraform security checks (checkov in its own venv, offline scan); part of `make test`.
.PHONY: checkov
checkov:
	bash scripts/checkov.sh

test: checkov
