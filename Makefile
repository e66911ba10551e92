# Two commands on a fresh machine: `make setup`, then `make report`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
PYTHON := $(VENV)/bin/python
# Stages call `python -m stages.<name>`: the venv's python must come first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# No network beyond the package registries: DVC must not phone home.
export DVC_NO_ANALYTICS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.DEFAULT_GOAL := help
.PHONY: help setup data browser report test test-fast lint format bench sweep sweep-collect clean

# The sweep: dropout rate x seed, through DVC's experiment queue. Each experiment
# retrains only the dropout CNN (its own epochs) and re-runs what reads it; a
# quick sweep is one variable away, e.g. `make sweep SWEEP_RATES="0.1 0.3" SWEEP_SEEDS=84`.
SWEEP_RATES ?= 0.05 0.1 0.2 0.3 0.5
SWEEP_SEEDS ?= 84 85 86
SWEEP_EPOCHS ?= 4
SWEEP_PASSES ?= 30
SWEEP_JOBS ?= 1
SWEEP_TARGETS ?= evaluate ood

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: data browser $(VENV)/.installed ## install everything: Fashion-MNIST and Chromium (apt), .venv with pinned deps, dvc config
	$(VENV)/bin/dvc config core.analytics false
	$(VENV)/bin/dvc config core.check_update false
	@echo "setup done: 'make report' runs the pipeline, 'make test' the tests"

data: ## Debian's dataset-fashion-mnist where apt exists (else the pipeline uses Keras' download)
	@if [ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then \
	  echo "Fashion-MNIST: /usr/share/datasets/fashion-mnist"; \
	elif command -v apt-get >/dev/null; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get install -y dataset-fashion-mnist || { $$SUDO apt-get update && $$SUDO apt-get install -y dataset-fashion-mnist; }; \
	else \
	  echo "no apt-get: the prepare stage will use Keras' cache/download"; \
	fi

browser: ## Debian's chromium where apt exists, for the test that renders the HTML report
	@if command -v chromium >/dev/null; then \
	  echo "Chromium: $$(command -v chromium)"; \
	elif command -v apt-get >/dev/null; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get install -y chromium || { $$SUDO apt-get update && $$SUDO apt-get install -y chromium; }; \
	else \
	  echo "no apt-get: install Chromium yourself to run the browser test (it is skipped without one)"; \
	fi

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt
	touch $@

report: ## run the whole pipeline on params.yaml (dvc repro) and print where the report is
	$(VENV)/bin/dvc repro
	@echo "report: $(CURDIR)/reports/index.html (Markdown: reports/report.md)"

test: ## all tests, including one real dvc repro on tiny params
	$(PYTHON) -m pytest -q

test-fast: ## the unit tests only (no dvc repro)
	$(PYTHON) -m pytest -q -m "not e2e"

lint: ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: ## ruff fix and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: ## speed benchmarks, side by side in one run -> reports/benchmarks.json
	$(PYTHON) -m benchmarks.bench

sweep: ## queue dropout rate x seed experiments, run them (SWEEP_JOBS workers), collect reports/sweep/
	for rate in $(SWEEP_RATES); do for seed in $(SWEEP_SEEDS); do \
	  $(VENV)/bin/dvc exp run --queue --name "dropout-$$rate-seed-$$seed" \
	    -S train.models.dropout.dropout_rate=$$rate -S train.models.dropout.seed=$$seed \
	    -S ++train.models.dropout.epochs=$(SWEEP_EPOCHS) -S predict.mc_passes=$(SWEEP_PASSES) \
	    $(SWEEP_TARGETS); \
	done; done
	$(VENV)/bin/dvc exp run --run-all --jobs $(SWEEP_JOBS)
	$(MAKE) sweep-collect

sweep-collect: ## collect `dvc exp show --json` into reports/sweep/ (CSV + figure)
	$(PYTHON) -m uncertainty.sweep --out reports/sweep

clean: ## remove caches (not results)
	rm -rf .pytest_cache .ruff_cache .tmp
	find . -name __pycache__ -prune -exec rm -rf {} +
