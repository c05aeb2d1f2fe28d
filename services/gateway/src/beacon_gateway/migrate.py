"""Migration Job entry point: `python -m beacon_gateway.migrate` brings the gateway schema at
DATABASE_URL to head and exits (deploy/k8s/base/migrations.yaml runs it once per release, and
the Deployment sets MIGRATE_ON_START=false)."""

from __future__ import annotations

from beacon_gateway.repository import MIGRATIONS
from beacon_gateway.settings import GatewaySettings
from beacon_runtime.serve import run_migrations


def run() -> None:
    run_migrations(GatewaySettings(), MIGRATIONS)


if __name__ == "__main__":
    run()
