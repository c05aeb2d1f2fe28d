"""Postgres helpers for tests (a module, so tests can import it)."""

from __future__ import annotations


async def drop_schema(database_url: str, schema: str) -> None:
    import asyncpg

    from beacon_runtime.db import asyncpg_url

    dsn = asyncpg_url(database_url).replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
