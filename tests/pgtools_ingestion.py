"""Postgres helpers for the ingestion tests (a module, so tests can import it)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import asyncpg
from beacon_runtime.db import asyncpg_url


def _dsn(database_url: str) -> str:
    return asyncpg_url(database_url).replace("postgresql+asyncpg://", "postgresql://")


async def drop_schema(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def truncate_all(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        await conn.execute(
            f'TRUNCATE "{schema}".bootstrap_items, "{schema}".bootstrap_tasks, '
            f'"{schema}".chunks, "{schema}".document_stages, "{schema}".documents, '
            f'"{schema}".news, "{schema}".prices, "{schema}".fundamentals, "{schema}".companies '
            "RESTART IDENTITY CASCADE"
        )
    finally:
        await conn.close()


async def terminate_lock_holder(database_url: str, key: tuple[int, int]) -> int:
    """End the session holding the two-key advisory lock `key` (as if its process died), and
    return once that backend is gone: without a timeout pg_terminate_backend only signals it,
    and its locks outlive the call for as long as it takes to exit."""
    conn = await asyncpg.connect(_dsn(database_url))
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid, 30000) FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 2 AND granted",
            key[0] % 2**32, key[1] % 2**32)
        return sum(1 for row in rows if row[0])
    finally:
        await conn.close()


def in_thread(fn, *args):
    """Run a blocking call that starts its own event loop, from wherever we are."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()
