# PolicyBot developer entry points. `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch is pinned to the CPU build in pyproject.toml; install it first so nothing
	# else can pull a CUDA build in.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev,postgres]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/policybot demo "How many days of annual leave do I get?"

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/indexing.py
	$(BIN)/python bench/retrieval_quality.py
	$(BIN)/python bench/retrieval_slackdev.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/answers.py
	$(BIN)/python bench/slack_load.py
	$(BIN)/python bench/training.py

clean:
	rm -rf $(VENV) .policybot .pytest_cache .ruff_cache
