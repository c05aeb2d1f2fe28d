"""The migration Job's command (`python -m beacon_<service>.migrate`, deploy/k8s/base/
migrations.yaml) brings each service's schema to head and exits; run again it changes
nothing; and a service built with MIGRATE_ON_START=false connects without migrating, so with
the Job in place no pod migrates at start."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from beacon_runtime.db import create_engine

pytestmark = pytest.mark.integration

# service -> its package (the Job's command is `python -m <package>.migrate`)
SERVICES = {
    "gateway": "beacon_gateway",
    "ingestion": "beacon_ingestion",
    "rag-query": "beacon_rag_query",
    "hitl": "beacon_hitl",
}


def _migrations(package: str):
    """The migrations directory the migrate module hands to Alembic."""
    return importlib.import_module(f"{package}.migrate").MIGRATIONS


def _head(package: str) -> str:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_migrations(package)))
    return ScriptDirectory.from_config(config).get_current_head()


def _run_job(package: str, database_url: str, schema: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "DB_SCHEMA": schema, "LOG_JSON": "false"}
    return subprocess.run([sys.executable, "-m", f"{package}.migrate"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


async def _scalar(database_url: str, schema: str, sql: str):
    engine = create_engine(database_url, schema)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text(sql), {"schema": schema})).scalar()
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_the_job_migrates_to_head_once_and_again_changes_nothing(service, database_url, pg_schema):
    package = SERVICES[service]
    first = await asyncio.to_thread(_run_job, package, database_url, pg_schema)
    assert first.returncode == 0, first.stderr
    assert "migrated" in first.stdout + first.stderr
    version = "SELECT version_num FROM alembic_version"
    assert await _scalar(database_url, pg_schema, version) == _head(package)
    again = await asyncio.to_thread(_run_job, package, database_url, pg_schema)
    assert again.returncode == 0, again.stderr
    assert await _scalar(database_url, pg_schema, version) == _head(package)


def test_the_job_without_a_database_fails_plainly():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run([sys.executable, "-m", "beacon_gateway.migrate"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr


def _repository(service: str, database_url: str, schema: str, migrate_on_start: bool):
    """The repository each service's composition root builds from its settings."""
    from beacon_gateway.settings import GatewaySettings
    from beacon_hitl.bootstrap import build_repository as hitl_repository
    from beacon_hitl.settings import HitlSettings
    from beacon_ingestion.bootstrap import build_repository as ingestion_repository
    from beacon_ingestion.settings import IngestionSettings
    from beacon_rag_query.bootstrap import build_repository as rag_repository
    from beacon_rag_query.settings import RagQuerySettings

    values = {"database_url": database_url, "db_schema": schema, "migrate_on_start": migrate_on_start}
    if service == "gateway":
        from beacon_gateway.repository import PostgresIdentityRepository

        settings = GatewaySettings(**values)
        # bootstrap.build makes it the same way (identity has no build_repository of its own).
        return PostgresIdentityRepository(settings.database_url, settings.db_schema,
                                          migrate_on_start=settings.migrate_on_start)
    builders = {"ingestion": (ingestion_repository, IngestionSettings),
                "rag-query": (rag_repository, RagQuerySettings),
                "hitl": (hitl_repository, HitlSettings)}
    build, settings_class = builders[service]
    return build(settings_class(**values))


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_migrate_on_start_false_leaves_the_schema_to_the_job(service, database_url, pg_schema):
    exists = "SELECT count(*) FROM information_schema.schemata WHERE schema_name = :schema"
    repository = _repository(service, database_url, pg_schema, migrate_on_start=False)
    await repository.start()
    try:
        assert await _scalar(database_url, pg_schema, exists) == 0
    finally:
        await repository.close()
    # The default (no Job): the service migrates when it starts.
    repository = _repository(service, database_url, pg_schema, migrate_on_start=True)
    await repository.start()
    try:
        assert await _scalar(database_url, pg_schema, exists) == 1
    finally:
        await repository.close()


def test_every_service_with_a_database_has_a_migrate_module():
    """The Job runs `python -m beacon_<service>.migrate`; its image must have that module."""
    for package in SERVICES.values():
        assert importlib.util.find_spec(f"{package}.migrate") is not None, package
