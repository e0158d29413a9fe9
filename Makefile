# The two commands of the README. Each makes .venv when it is missing and
# reinstalls the project when pyproject.toml changed since the last install.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# Until the daemon exists, the nearest real thing: the bundled plans applied
# to the current year, from today on.
serve: $(STAMP)
	$(BIN)/jiedian plan show --year $$(date +%Y) --since today

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/expressions.py

clean:
	rm -rf $(VENV) build *.egg-info
