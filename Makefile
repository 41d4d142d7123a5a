# Registru: `make run` starts it, `make test` tests it. See README.md.
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
# `make run PORT=8765` serves on another port than 8000 (and the demo's mail links point there).
PORT ?= 8000

.PHONY: help run install install-dev test lint typecheck check messages bench clean

help:
	@echo "make run    - install, migrate, seed demo data once, serve on http://127.0.0.1:8000 (PORT=N to change)"
	@echo "make test   - install the test tools and run the whole suite"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - benchmarks (see docs/benchmarks.md)"

install:
	@scripts/bootstrap.sh base

install-dev:
	@scripts/bootstrap.sh dev

run: install
	@$(BIN)/registru migrate --noinput
	@REGISTRU_PUBLIC_URL="$${REGISTRU_PUBLIC_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/registru demo --if-empty
	@$(BIN)/registru serve --port $(PORT)

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check registru $(wildcard bench)
	$(BIN)/ruff format --check registru $(wildcard bench)
	$(BIN)/mypy registru

messages: install-dev
	cd registru && ../$(BIN)/registru makemessages -l ro -l en --no-obsolete --ignore "*/tests/*"
	cd registru && ../$(BIN)/registru compilemessages

bench:
	@scripts/bootstrap.sh bench
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/static
