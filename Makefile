# deployscan — the front door. `make demo` and `make test` set themselves up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := docker-registry skopeo chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=
# Fake credentials and no AWS config: no test can reach real AWS.
TEST_ENV := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing \
	AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
# The Lambda runtime is Python 3.12; the dispatcher's tests also run there when this machine has
# one. PYTHON312=... names it; else the first python3.12 on PATH or under pyenv that really runs
# and can make a venv (a pyenv shim is on PATH even when 3.12 is not the selected version).
PYTHON312 ?=
VENV312 := .venv-py312
STAMP312 := $(VENV312)/.installed
FIND_PY312 = for p in python3.12 "$$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python3.12; do \
	  "$$p" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1 && \
	  { command -v "$$p"; break; }; done

.PHONY: help venv sysdeps lint fmt test test-py312 demo clean

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-24s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP) ## build .venv with the project and its deployscan console script

sysdeps: ## install the Debian packages the tests and demo use, when missing
	@missing=""; for p in $(APT_PACKAGES); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

lint: venv ## ruff (lint + format check), mypy, cfn-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@templates=$$(ls cfn/*.yaml 2>/dev/null); if [ -n "$$templates" ]; then $(BIN)/cfn-lint $$templates; fi

fmt: venv ## apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: venv sysdeps wheelhouse lint test-py312 ## set up, lint, and run every test (the dispatcher's on 3.12 too)
	$(TEST_ENV) $(BIN)/pytest -n 2 $(PYTEST_ARGS)

$(STAMP312): pyproject.toml
	$(PYTHON312) -m venv $(VENV312)
	$(VENV312)/bin/pip install --quiet --upgrade pip
	$(VENV312)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP312)

test-py312: sysdeps ## the dispatcher's tests under Python 3.12 (the Lambda runtime), if there is one
	@py="$(PYTHON312)"; [ -n "$$py" ] || py=$$($(FIND_PY312)); \
	if [ -z "$$py" ]; then echo "test-py312: skipped, no usable Python 3.12 here (PYTHON312=... names one)"; exit 0; fi; \
	$(MAKE) --no-print-directory $(STAMP312) PYTHON312="$$py" && \
	echo "tests/dispatcher under $$($(VENV312)/bin/python --version)" && \
	$(TEST_ENV) $(VENV312)/bin/pytest -n 2 -q tests/dispatcher

demo: venv sysdeps wheelhouse ## run the whole flow on this machine with embedded defaults
	$(BIN)/deployscan demo

clean: ## remove the venv and caches
	rm -rf $(VENV) $(VENV312) .pytest_cache .mypy_cache .ruff_cache .demo build *.egg-info

-include mk/*.mk
