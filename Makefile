# Two entry points: `make run` (the whole study) and `make test` (the test suite).
# Both create .venv on first use; Python 3.11 with pip is all they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 4

.PHONY: setup run test lint bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: setup
	$(BIN)/snakemake --cores $(CORES) all

test: setup
	$(BIN)/python -m pytest -ra

lint: setup
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check .
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m fashion_mnist_study.bench
