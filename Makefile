# The project's commands. `make reproduce` and `make test` are the two a user needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PROFILE ?= cpu
DATA_ROOT ?= data
CAVIAR_ROOT ?= ../shared/datasets
MARKET_ROOT ?= ../shared/datasets
TABLES ?= 3 2 1
DATASETS ?= vr_market1501 mlr_market1501
SEEDS ?= 0 1 2
NETWORKS ?=
MEMORY_FORMAT ?=
PY := .venv/bin/python
CODE := lib tests benchmarks scripts notebooks

.PHONY: env test lint format reproduce caviar market readme lab clean

env:  ## create .venv (reused while pyproject.toml and constraints.txt are unchanged)
	@./scripts/env.sh

lint: env  ## ruff (lint + format check) and the notebook hygiene check
	$(PY) -m ruff check $(CODE)
	$(PY) -m ruff format --check $(CODE)
	$(PY) scripts/check_notebooks.py notebooks/*.ipynb

format: env  ## apply ruff's fixes and formatting, strip notebook outputs
	$(PY) -m ruff check --fix $(CODE)
	$(PY) -m ruff format $(CODE)
	$(PY) -m nbstripout --keep-metadata-keys metadata.kernelspec notebooks/*.ipynb

test: lint  ## pytest over tests/, then every notebook under nbval at its smoke defaults
	$(PY) -m pytest tests
	runs=$$(mktemp -d); status=0; \
	RIPR_RUNS=$$runs $(PY) -m pytest --nbval-lax -p no:cacheprovider notebooks || status=$$?; \
	rm -rf "$$runs"; exit $$status

reproduce: env  ## every numbered notebook with papermill; PROFILE=cpu|paper, DATA_ROOT=...
	$(PY) scripts/reproduce.py --profile $(PROFILE) --data-root "$(DATA_ROOT)"

caviar: env  ## CAVIAR, 10 identity-split trials of ResNet, FFSR, RIFE, FFSR+RIFE (real data; not in CI)
	$(PY) scripts/caviar_trials.py --profile $(PROFILE) --data-root "$(CAVIAR_ROOT)"

market: env  ## Tables 1-3 on VR-/MLR-Market1501 (real data; hours; not in CI): TABLES, DATASETS, SEEDS, NETWORKS, MEMORY_FORMAT, DRY_RUN=1
	$(PY) -m lib market --data-root "$(MARKET_ROOT)" --tables $(TABLES) --datasets $(DATASETS) --seeds $(SEEDS) $(if $(NETWORKS),--networks $(NETWORKS)) $(if $(MEMORY_FORMAT),--memory-format $(MEMORY_FORMAT)) $(if $(DRY_RUN),--dry-run)

readme: env  ## copy the tables of the last `make reproduce` (figures/) into README.md
	$(PY) scripts/readme_results.py

lab: env  ## JupyterLab on the project's environment
	$(PY) -m jupyter lab notebooks

clean:  ## remove executed notebooks, derived data and caches (keeps .venv and figures/)
	rm -rf runs data/derived data/synthetic .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
