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

# The daemon on the embedded default: SQLite under $JIEDIAN_HOME, the bundled units
# (console channels) and plans for this year on an empty store, feeds on 127.0.0.1:8000.
serve: $(STAMP)
	$(BIN)/jiedian serve --demo --host 127.0.0.1 --port 8000

# The browser test of the calendar page needs Debian's chromium; it skips when absent.
test: $(STAMP)
	command -v chromium >/dev/null || (apt-get install -y -q chromium >/dev/null 2>&1 || true)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get install -y -q wrk >/dev/null 2>&1 || true)
	$(BIN)/python bench/expressions.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/feeds.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/dispatch_store.py
	$(BIN)/python bench/extract.py --quiet
	$(BIN)/python bench/wordings.py
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) build *.egg-info
