"""Postgres access shared by every service that owns tables.

Each service owns one Postgres schema (gateway, ingestion, rag_query, hitl) and migrates it
with its own Alembic scripts; no service reads another's schema. Connections set
`search_path` to the service's schema, so SQL and migrations name tables unqualified.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from beacon_runtime.errors import DependencyUnavailable

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def asyncpg_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and return the last."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    raise ValueError("DATABASE_URL must be a postgres:// or postgresql:// URL")


def check_schema(schema: str) -> str:
    if not _SCHEMA.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


def create_engine(url: str, schema: str, *, pool_size: int = 5):
    """An AsyncEngine whose connections live in `schema`."""
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        pool_pre_ping=True,
        connect_args={
            "server_settings": {"search_path": check_schema(schema)},
            "timeout": 5,
            "command_timeout": 30,
        },
    )


def migrate(url: str, migrations_dir: Path, schema: str, revision: str = "head") -> None:
    """Run a service's Alembic migrations into its schema (blocking; call at start-up)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["url"] = asyncpg_url(url)
    config.attributes["schema"] = check_schema(schema)
    command.upgrade(config, revision)


async def migrate_async(url: str, migrations_dir: Path, schema: str) -> None:
    try:
        await asyncio.to_thread(migrate, url, migrations_dir, schema)
    except OSError as exc:
        raise DependencyUnavailable(f"postgres: {exc}") from exc


def run_alembic_env() -> None:
    """The body of every service's migrations/env.py: online migrations over asyncpg,
    into the schema given by the caller of `migrate()`."""
    from alembic import context
    from sqlalchemy import pool, text
    from sqlalchemy.ext.asyncio import create_async_engine

    url = context.config.attributes["url"]
    schema = context.config.attributes["schema"]

    def run(connection) -> None:
        # Replicas starting together migrate one at a time; the lock ends with the session.
        connection.execute(text("SELECT pg_advisory_lock(hashtext(:schema))"), {"schema": schema})
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.execute(text(f'SET search_path TO "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=None,
            version_table="alembic_version",
            version_table_schema=schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    asyncio.run(main())
