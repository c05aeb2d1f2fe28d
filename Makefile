# Two commands: `make dev` runs the whole system in one process, `make test` runs every test.
SHELL := /bin/bash
# uv from PATH, else the one pip installs (`python3 -m uv` works wherever pip put it).
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PORT ?= 8000
export PORT

.PHONY: dev test test-unit test-integration test-e2e uv sync bench chaos images stack stack-test stack-down

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

# ---------------------------------------------------------------- containers (podman, root)
# `make stack` builds the base image (debootstrap of the Debian mirror), one image per
# service and the RabbitMQ/Redis/Postgres images, then brings deploy/compose/compose.yaml up.
# Builds run under `nice`: the machine's CPU is shared.
COMPOSE ?= $(UV) tool run --from podman-compose==1.6.0 podman-compose -f deploy/compose/compose.yaml
IMAGE_TAG ?= dev
SERVICES := gateway:beacon_gateway report-writer:beacon_report_writer \
            ingestion:beacon_ingestion rag-query:beacon_rag_query hitl:beacon_hitl

images:
	bash deploy/docker/podman-setup.sh
	bash deploy/docker/base.sh
	@for pair in $(SERVICES); do svc=$${pair%%:*}; mod=$${pair##*:}; \
	  echo "== beacon-$$svc"; \
	  nice podman build -q -f deploy/docker/Dockerfile --build-arg SERVICE=beacon-$$svc \
	    --build-arg MODULE=$$mod.main -t localhost/beacon-$$svc:$(IMAGE_TAG) . || exit 1; \
	done
	@for infra in rabbitmq redis postgres; do echo "== beacon-$$infra"; \
	  nice podman build -q -f deploy/docker/infra/$$infra.Dockerfile \
	    -t localhost/beacon-$$infra:$(IMAGE_TAG) deploy/docker/infra || exit 1; \
	done
	@podman images --filter reference='localhost/beacon-*' --format '{{.Repository}}:{{.Tag}} {{.Size}}'

stack: images
	$(COMPOSE) up -d

# .ci/run runs it after `make test`, then `make stack-down` (times in deploy/compose/README.md).
stack-test: stack sync
	$(UV) run --frozen python deploy/compose/smoke.py

stack-down:
	$(COMPOSE) down -v
