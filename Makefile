# BarberPro backend. `make run` serves on http://127.0.0.1:8000, `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The dashboard page's browser libraries (Chart.js, Socket.IO's client), from the npm registry
# with web/package-lock.json, copied into the package and served by the app: no CDN.
VENDOR := src/barberpro/web/static/vendor
ASSETS := $(VENDOR)/.installed

.PHONY: install run demo test check bench clean

install: $(STAMP) $(ASSETS)

# Reinstalls only when pyproject.toml changes; safe to run again and again.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(ASSETS): web/package.json web/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "npm not found: /dashboard will say its chart library is missing"; exit 0; fi; \
	npm ci --prefix web --no-audit --no-fund --loglevel=error && \
	mkdir -p $(VENDOR) && \
	cp web/node_modules/chart.js/dist/chart.umd.min.js \
	   web/node_modules/socket.io-client/dist/socket.io.min.js $(VENDOR)/ && \
	touch $(ASSETS)

run: install
	$(BIN)/barberpro serve --host 127.0.0.1 --port 8000

# A service on a scratch SQLite database, the MercadoPago stand-in and DEMO_MINUTES (2) of
# simulated launch; it keeps serving until Ctrl-C and stops everything it started.
DEMO_MINUTES ?= 2
demo: install
	$(BIN)/barberpro demo --minutes $(DEMO_MINUTES)

# Two pytest-xdist workers (the machines have two cores); the tests that reach Redis, and the
# two fuzz runs, each keep to one worker (xdist groups, tests/conftest.py). TEST_WORKERS=0 runs
# everything in one process.
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

check: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/overhead.py

clean:
	rm -rf $(VENV) web/node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache .hypothesis
