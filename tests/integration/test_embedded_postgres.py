"""Embedded mode on the real Postgres with DATABASE_URL and DB_SCHEMA set: every service gets
a schema of its own, so each one's migrations run and all their tables exist (they used to
share one alembic_version: the second "0001" was taken as applied and its tables skipped)."""

from __future__ import annotations

import asyncpg

from beacon_runtime.db import asyncpg_url
from pgtools import drop_schema

TABLES = {
    "gateway": {"users", "refresh_tokens", "api_keys"},
    "ingestion": {"companies", "documents", "chunks"},
    "rag_query": {"queries", "query_feedback"},
    "hitl": {"reviews", "review_audit"},
}


async def _tables(database_url: str, schema: str) -> set[str]:
    dsn = asyncpg_url(database_url).replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema)
    finally:
        await conn.close()
    return {row["table_name"] for row in rows}


async def test_every_service_migrates_its_own_schema(database_url, unique_name, monkeypatch, tmp_path):
    from beacon_embedded.main import build_stack
    from beacon_gateway.settings import GatewaySettings

    for name, value in {"DATABASE_URL": database_url, "DB_SCHEMA": unique_name,
                        "INGEST_SAMPLE_CORPUS": "false", "FILES_DIR": str(tmp_path / "files"),
                        "VECTORS_DIR": str(tmp_path / "vectors")}.items():
        monkeypatch.setenv(name, value)
    adapters, services = build_stack(GatewaySettings(api_keys="k", jwt_secret="s" * 40))
    try:
        for service in services:
            await service.start()
        for service, expected in TABLES.items():
            tables = await _tables(database_url, f"{unique_name}_{service}")
            assert "alembic_version" in tables, service
            assert expected <= tables, (service, sorted(tables))
        assert await _tables(database_url, unique_name) == set(), "nothing in the bare prefix"
    finally:
        for service in reversed(services):
            await service.stop()
        await adapters.close()
        for service in TABLES:
            await drop_schema(database_url, f"{unique_name}_{service}")
