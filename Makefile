# make app   -- set up .venv if needed, then serve the app on the local store
# make test  -- set up .venv if needed, then run the whole test suite
# make lint  -- ruff (lint and format check) and codespell
# make bench -- the benchmark scripts under bench/, printing their figures
#
# The task commands below are the same strings as the tasks of pixi.toml;
# tests/test_tooling.py keeps the two in step. Every command of every recipe
# finds the tools of .venv first: the exported PATH reaches each of them,
# including those after `&&`.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: app test lint bench setup

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

app: $(STAMP)
	touchline app

test: $(STAMP)
	pytest -n 2 --timeout 900

lint: $(STAMP)
	ruff check . && ruff format --check . && codespell

bench: $(STAMP)
	python bench/run_all.py
