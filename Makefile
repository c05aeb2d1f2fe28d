# Two commands: `make dev` runs the whole system in one process, `make test` runs every test.
SHELL := /bin/bash
# uv from PATH, else the one pip installs (`python3 -m uv` works wherever pip put it).
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PORT ?= 8000
export PORT

.PHONY: dev test test-unit test-integration test-e2e uv sync bench chaos

uv:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

sync: uv
	@$(UV) sync --frozen --quiet

dev: sync
	$(UV) run --frozen python -m beacon_embedded.main

test: sync
	$(UV) run --frozen pytest

# One folder per lane (tests/conftest.py marks each test by its folder).
test-unit: sync
	$(UV) run --frozen pytest tests/unit

test-integration: sync
	$(UV) run --frozen pytest tests/integration

test-e2e: sync
	$(UV) run --frozen pytest tests/e2e

bench: sync
	$(UV) run --frozen python bench/report_api_bench.py

# Every fault scenario (tests/chaos), the long outages included, on its own RabbitMQ node
# and Redis; prints the counts table. The fast ones also run in `make test` (tests/e2e).
chaos: sync
	$(UV) run --frozen python tests/chaos/run.py --all
