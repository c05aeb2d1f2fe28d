"""Migration Job entry point: `python -m beacon_ingestion.migrate` brings the ingestion schema at
DATABASE_URL to head and exits (deploy/k8s/base/migrations.yaml runs it once per release, and
the Deployment sets MIGRATE_ON_START=false)."""

from __future__ import annotations

from beacon_ingestion.repository.postgres import MIGRATIONS
from beacon_ingestion.settings import IngestionSettings
from beacon_runtime.serve import run_migrations


def run() -> None:
    run_migrations(IngestionSettings(), MIGRATIONS)


if __name__ == "__main__":
    run()
