"""Postgres access shared by every service that owns tables.

Each service owns one Postgres schema (gateway, ingestion, rag_query, hitl) and migrates it
with its own Alembic scripts; no service reads another's schema. Connections set
`search_path` to the service's schema, so SQL and migrations name tables unqualified.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


def _alembic_config(url: str, migrations_dir: Path, schema: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["url"] = asyncpg_url(url)
    config.attributes["schema"] = check_schema(schema)
    return config


def migrate(url: str, migrations_dir: Path, schema: str, revision: str = "head") -> None:
    """Run a service's Alembic migrations into its schema (blocking; call at start-up)."""
    from alembic import command

    command.upgrade(_alembic_config(url, migrations_dir, schema), revision)


def write_migration(url: str, migrations_dir: Path, schema: str, message: str, rev_id: str) -> None:
    """Write the next migration from the difference between `schema` (at head) and the
    table definition its env.py passes to `run_alembic_env` (Alembic autogenerate)."""
    from alembic import command

    command.revision(_alembic_config(url, migrations_dir, schema), message=message,
                     autogenerate=True, rev_id=rev_id)


async def migrate_async(url: str, migrations_dir: Path, schema: str) -> None:
    try:
        await asyncio.to_thread(migrate, url, migrations_dir, schema)
    except OSError as exc:
        raise DependencyUnavailable(f"postgres: {exc}") from exc


def run_alembic_env(target_metadata=None) -> None:
    """The body of every service's migrations/env.py: online migrations over asyncpg,
    into the schema given by the caller of `migrate()`. `target_metadata` (the service's
    table definition) lets `write_migration` derive a migration from it."""
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
            target_metadata=target_metadata,
            version_table="alembic_version",
            version_table_schema=schema,
            # Autogenerate compares the service's tables, not Alembic's own.
            include_name=lambda name, kind, _parent: not (kind == "table" and name == "alembic_version"),
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    asyncio.run(main())


class PostgresStore:
    """Base of a service's Postgres repository: migrate at start (unless a migration Job
    does it: `migrate_on_start=False`), one engine, and outages
    (refused, dropped or timed-out connections) raised as DependencyUnavailable, so callers
    answer 503 instead of 500. Integrity and programming errors propagate unchanged."""

    def __init__(self, database_url: str, schema: str, *, migrations: Path, pool_size: int = 5,
                 migrate_on_start: bool = True) -> None:
        self._url = database_url
        self._schema = check_schema(schema)
        self._migrations = migrations
        self._pool_size = pool_size
        self._migrate_on_start = migrate_on_start
        self._engine = None

    async def start(self, *, migrate: bool | None = None) -> None:
        """Connect, migrating first unless told not to (by `migrate` or the constructor's
        `migrate_on_start`, which the service's MIGRATE_ON_START setting decides)."""
        if self._migrate_on_start if migrate is None else migrate:
            await self.migrate()
        self._engine = create_engine(self._url, self._schema, pool_size=self._pool_size)

    async def migrate(self) -> None:
        """Bring the schema to head (what a migration Job runs, then exits)."""
        await migrate_async(self._url, self._migrations, self._schema)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def ping(self) -> bool:
        from sqlalchemy import text

        try:
            await self._run(text("select 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator:
        """A connection in one transaction (committed on exit when `write`)."""
        import sqlalchemy.exc

        if self._engine is None:
            raise DependencyUnavailable("postgres: repository not started")
        try:
            async with (self._engine.begin() if write else self._engine.connect()) as conn:
                yield conn
        except (OSError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
            raise DependencyUnavailable(f"postgres: {exc.__class__.__name__}") from exc
        except sqlalchemy.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise DependencyUnavailable("postgres: connection lost") from exc
            raise

    async def _run(self, statement, *, write: bool = False):
        """One statement in its own transaction: rows as mappings, or the row count."""
        async with self.transaction(write=write) as conn:
            result = await conn.execute(statement)
            return result.mappings().all() if result.returns_rows else result.rowcount
