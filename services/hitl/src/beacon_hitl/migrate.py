"""Migration Job entry point: `python -m beacon_hitl.migrate` brings the hitl schema at
DATABASE_URL to head and exits (deploy/k8s/base/migrations.yaml runs it once per release, and
the Deployment sets MIGRATE_ON_START=false)."""

from __future__ import annotations

from beacon_hitl.repository import MIGRATIONS
from beacon_hitl.settings import HitlSettings
from beacon_runtime.serve import run_migrations


def run() -> None:
    run_migrations(HitlSettings(), MIGRATIONS)


if __name__ == "__main__":
    run()
