"""Migration Job entry point: `python -m beacon_rag_query.migrate` brings the rag-query schema at
DATABASE_URL to head and exits (deploy/k8s/base/migrations.yaml runs it once per release, and
the Deployment sets MIGRATE_ON_START=false)."""

from __future__ import annotations

from beacon_rag_query.repository import MIGRATIONS
from beacon_rag_query.settings import RagQuerySettings
from beacon_runtime.serve import run_migrations


def run() -> None:
    run_migrations(RagQuerySettings(), MIGRATIONS)


if __name__ == "__main__":
    run()
