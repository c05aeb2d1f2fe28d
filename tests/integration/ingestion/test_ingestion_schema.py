"""The schema is written once, in repository/tables.py: the migrations, run into an empty
schema, give exactly those tables (Alembic's autogenerate finds no difference), and the
migration command writes an empty migration when there is nothing to add."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from beacon_ingestion.repository import tables
from beacon_ingestion.repository.postgres import MIGRATIONS
from beacon_runtime.db import create_engine, migrate, write_migration
from pgtools_ingestion import drop_schema, in_thread

pytestmark = pytest.mark.integration
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def schema():
    name = "t_ingest_schema_" + uuid.uuid4().hex[:8]
    in_thread(migrate, DATABASE_URL, MIGRATIONS, name)
    yield name
    in_thread(asyncio.run, drop_schema(DATABASE_URL, name))


def _differences(connection) -> tuple[list, set[str]]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    checks = {row.conname for row in connection.execute(sa.text(
        "SELECT conname FROM pg_constraint WHERE contype = 'c' AND connamespace = current_schema()::regnamespace"))}
    return compare_metadata(context, tables.metadata), checks


async def test_the_migrations_build_exactly_the_table_definition(schema):
    engine = create_engine(DATABASE_URL, schema)
    try:
        async with engine.connect() as conn:
            differences, checks = await conn.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []
    # Autogenerate does not compare CHECK constraints: compare their names here.
    declared = {c.name for table in tables.metadata.tables.values() for c in table.constraints
                if isinstance(c, sa.CheckConstraint)}
    assert checks == declared == {"fundamentals_period_type", "documents_status", "companies_fiscal_year_end_month",
                                 "bootstrap_tasks_status"}


def test_a_migration_derived_from_unchanged_tables_is_empty(schema, tmp_path):
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    in_thread(write_migration, DATABASE_URL, scripts, schema, "nothing changed", "9999")
    [written] = (scripts / "versions").glob("9999_*.py")
    upgrade = written.read_text().split("def downgrade")[0]
    assert "def upgrade() -> None:" in upgrade and "op." not in upgrade, upgrade
