"""A dependency outage is answered with 503 SERVICE_UNAVAILABLE, never a 500 traceback.

The real Postgres and Redis stay up (other tests share them); the gateway reaches them
through a TCP proxy that the test cuts.
"""

from __future__ import annotations

import pytest
from netproxy import TcpProxy

from research_stack import bearer, research_stack

from beacon_gateway.repository import Role



@pytest.fixture
async def pg_proxy():
    proxy = TcpProxy(("127.0.0.1", 5432))
    await proxy.start()
    yield proxy
    await proxy.cut()


@pytest.fixture
async def redis_proxy():
    proxy = TcpProxy(("127.0.0.1", 6379))
    await proxy.start()
    yield proxy
    await proxy.cut()


async def test_postgres_outage_is_503(pg_proxy):
    url = f"postgresql://postgres@127.0.0.1:{pg_proxy.port}/test"
    async with research_stack("real", database_url=url) as (client, tokens, _):
        assert (await client.get("/api/v1/auth/me", headers=bearer(tokens[Role.USER]))).status_code == 200
        await pg_proxy.cut()
        response = await client.post("/api/v1/auth/login", json={"email": "user@example.com", "password": "x"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        me = await client.get("/api/v1/auth/me", headers=bearer(tokens[Role.USER]))
        assert me.status_code == 503
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"
        await pg_proxy.start()  # restore so cleanup can run through the same URL


async def test_redis_outage_is_503_on_both_contracts(redis_proxy):
    url = f"redis://127.0.0.1:{redis_proxy.port}/0"
    async with research_stack("real", redis_url=url) as (client, tokens, _):
        await redis_proxy.cut()
        limited = await client.get("/api/v1/companies", headers=bearer(tokens[Role.USER]))
        assert limited.status_code == 503
        assert limited.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        status = await client.get("/status/some-job", headers={"X-API-Key": "k"})
        assert status.status_code == 503
        assert status.json()["data"]["error_code"] == "SERVICE_UNAVAILABLE"
        await redis_proxy.start()
