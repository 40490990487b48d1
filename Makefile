# BarberPro backend. `make run` serves on http://127.0.0.1:8000, `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run demo test check bench clean

install: $(STAMP)

# Reinstalls only when pyproject.toml changes; safe to run again and again.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/barberpro serve --host 127.0.0.1 --port 8000

# A service on a scratch SQLite database, the MercadoPago stand-in and DEMO_MINUTES (2) of
# simulated launch; it keeps serving until Ctrl-C and stops everything it started.
DEMO_MINUTES ?= 2
demo: install
	$(BIN)/barberpro demo --minutes $(DEMO_MINUTES)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
